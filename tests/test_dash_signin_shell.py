"""The sign-in page's plain HTML form, served in front of Streamlit by `odwatch serve`.

The middleware is called as the ASGI server calls it; behind it, a small ASGI app stands for
Streamlit, to see which requests pass through. In the browser, the form and its hand-over to
Streamlit's own form are tested end to end (tests/test_e2e.py).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from streamlit import config
from streamlit.file_util import get_static_dir

from dashboard.signin_shell import (
    FONT_PRELOAD,
    MODULE_PRELOAD,
    PASSWORD_KEY,
    SHELL_ID,
    STYLESHEET,
    SUBMIT_KEY,
    USERNAME_KEY,
    SignInShell,
    render_shell,
    shell_page,
)
from odwatch.i18n import catalog
from odwatch.settings import get_settings

STREAMLIT = b"streamlit's own answer"
STREAMLIT_INDEX = (Path(get_static_dir()) / "index.html").read_text(encoding="utf-8")


async def streamlit_stand_in(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": STREAMLIT})


def request(path: str, method: str = "GET", query: str = "") -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body SignInShell answers `method path?query` with."""
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": query.encode()}
    asyncio.run(SignInShell(streamlit_stand_in)(scope, receive, send))
    start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body


@pytest.fixture
def language(monkeypatch):
    def choose(lang: str) -> None:
        monkeypatch.setenv("ODWATCH_LANGUAGE", lang)
        get_settings.cache_clear()

    yield choose
    get_settings.cache_clear()


@pytest.fixture
def base_url_path():
    def choose(path: str) -> None:
        config.set_option("server.baseUrlPath", path)

    yield choose
    config.set_option("server.baseUrlPath", "")


@pytest.mark.parametrize("path", ["/", "/sign-in"])
def test_the_sign_in_addresses_get_the_plain_form_in_front_of_streamlit(path, language):
    language("zh")
    status, headers, body = request(path)
    page = body.decode("utf-8")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert headers["cache-control"] == "no-cache"            # as Streamlit serves its index.html
    zh = catalog("zh")
    for key in ("signin.title", "signin.intro", "signin.username", "signin.password", "signin.submit"):
        assert zh[key] in page
    assert '<html lang="zh-CN">' in page and f"<title>{zh['app.title']}</title>" in page
    # Streamlit's app is there: its root, its entry script, and its stylesheet after the form;
    # not its preload hints, which held back the form's first paint.
    assert re.search(r'<script type="module" crossorigin src="\./static/js/index\.[^"]+\.js">', page)
    assert page.index(f'id="{SHELL_ID}"') < page.index('<div id="root">') < page.index('rel="stylesheet"')
    assert MODULE_PRELOAD.findall(STREAMLIT_INDEX) and not MODULE_PRELOAD.findall(page)


def test_nothing_can_be_sent_from_the_plain_form_itself():
    """Its fields have no names and its form no action: credentials go through Streamlit's form."""
    page = shell_page("zh").decode("utf-8")
    form = page[page.index("<form"):page.index("</form>")]
    assert "<form>" in form and "name=" not in form and "action=" not in form
    assert 'autocomplete="username"' in form and 'autocomplete="current-password"' in form


def test_the_form_speaks_the_configured_language(language):
    language("en")
    page = request("/")[2].decode("utf-8")
    assert '<html lang="en">' in page and catalog("en")["signin.username"] in page
    assert catalog("zh")["signin.username"] not in page


def test_a_head_request_gets_the_same_headers():
    status, headers, _ = request("/", "HEAD")
    assert status == 200 and headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("method", "path", "query"), [
    ("GET", "/public-notice", ""), ("GET", "/admin", ""), ("GET", "/_stcore/health", ""),
    ("POST", "/", ""),
    ("GET", "/", "embed=true"),          # embedded, Streamlit draws no sidebar: no copy to match it
])
def test_every_other_request_is_streamlits(method, path, query):
    assert request(path, method, query)[2] == STREAMLIT


def test_under_a_base_url_path_the_sign_in_addresses_move_with_it(base_url_path):
    base_url_path("watch")
    assert f'id="{SHELL_ID}"'.encode() in request("/watch/")[2]
    assert f'id="{SHELL_ID}"'.encode() in request("/watch/sign-in")[2]
    assert request("/")[2] == STREAMLIT


def test_the_script_is_complete_and_looks_for_streamlits_sign_in_widgets():
    # The keys dashboard/signin.py gives its widgets, which tests/test_dash_shell_app.py checks.
    page = shell_page("zh").decode("utf-8")
    script = page[page.index("<script>", page.index('<div id="root">')):]
    for key in (USERNAME_KEY, PASSWORD_KEY, SUBMIT_KEY):
        assert f'"{key}"' in script
    assert not re.findall(r"__[A-Z_]+__", page)           # every placeholder filled in


def test_an_index_page_not_as_expected_leaves_the_sign_in_page_to_streamlit():
    assert render_shell(STREAMLIT_INDEX, "zh") is not None
    assert render_shell(STREAMLIT_INDEX.replace('<div id="root"></div>', "<main></main>"), "zh") is None
    assert render_shell(STYLESHEET.sub("", STREAMLIT_INDEX), "zh") is None
    assert render_shell(FONT_PRELOAD.sub("", STREAMLIT_INDEX), "zh") is None
