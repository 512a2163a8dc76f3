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
from streamlit.file_util import get_static_dir

from dashboard.signin_shell import (
    PASSWORD_KEY,
    SUBMIT_KEY,
    USERNAME_KEY,
    SignInShell,
    render_shell,
    shell_page,
)
from odwatch.i18n import catalog
from odwatch.settings import get_settings

STREAMLIT = b"streamlit's own answer"


async def streamlit_stand_in(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": STREAMLIT})


def request(path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body SignInShell answers `method path` with."""
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
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
    # Streamlit's app is all there behind the form: its root, its entry script and its stylesheet.
    assert re.search(r'<script type="module" crossorigin src="\./static/js/index\.[^"]+\.js">', page)
    assert page.index('id="odw-shell"') < page.index('<div id="root">') < page.index('rel="stylesheet"')
    assert "modulepreload" not in page


def test_the_form_speaks_the_configured_language(language):
    language("en")
    page = request("/")[2].decode("utf-8")
    assert '<html lang="en">' in page and catalog("en")["signin.username"] in page
    assert catalog("zh")["signin.username"] not in page


@pytest.mark.parametrize(("method", "path"), [("GET", "/public-notice"), ("GET", "/admin"),
                                              ("GET", "/_stcore/health"), ("POST", "/")])
def test_every_other_request_is_streamlits(method, path):
    assert request(path, method)[2] == STREAMLIT


def test_the_form_hands_over_to_the_widgets_of_streamlits_sign_in_form():
    # The keys dashboard/signin.py gives its widgets, which tests/test_dash_shell_app.py checks.
    script = shell_page("zh").decode("utf-8")
    assert f'"{USERNAME_KEY}", "{PASSWORD_KEY}", "{SUBMIT_KEY}"' in script


def test_an_index_page_not_as_expected_leaves_the_sign_in_page_to_streamlit():
    index = (Path(get_static_dir()) / "index.html").read_text(encoding="utf-8")
    assert render_shell(index, "zh") is not None
    assert render_shell(index.replace('<div id="root"></div>', "<main></main>"), "zh") is None
    assert render_shell(re.sub(r'<link rel="stylesheet"[^>]*>', "", index), "zh") is None
    assert render_shell(re.sub(r'<link\s+rel="preload"[^>]*>', "", index), "zh") is None
