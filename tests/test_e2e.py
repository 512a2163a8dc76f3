"""End to end: `odwatch serve --demo-if-empty` in its own data directory, driven by headless Chromium.

Signs in with a printed demo account, visits every page of the admin role,
acknowledges one alert and downloads one export, asserts that no page shows an
error box, and saves a screenshot of each page under tests/artifacts/. The server
owns the embedded engine, so the stored effects (audit entries) are checked
after it stops, by a separate `python` process on the same data directory.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import navigation
from dashboard.signin_shell import PASSWORD_KEY, SHELL_ID, USERNAME_KEY
from odwatch import vocabulary
from odwatch.i18n import catalog

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 900          # the first start builds the small demo platform
ACTION_TIMEOUT_MS = 180_000      # generous on a shared machine; a wait ends as soon as the page is ready
ACCOUNT = re.compile(r"(demo_\w+) / ([A-Za-z0-9_-]+)")   # as `odwatch demo` prints them
STREAMLIT_IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && !document.querySelector('[data-stale="true"]')
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""
# ... and the plain sign-in form (dashboard/signin_shell.py) no longer in front of it.
IDLE = f"() => ({STREAMLIT_IDLE})() && !document.getElementById('{SHELL_ID}')"
FOCUSED = "element => element === document.activeElement"
ZH = catalog("zh")

AUDIT_ACTIONS = """
import json
from warehouse import connect
rows = connect().query("SELECT action, actor, object_id FROM audit_log ORDER BY seq").result_rows
print(json.dumps([list(r) for r in rows]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`odwatch serve` as a subprocess, its output kept for the accounts and for the artifact log."""

    def __init__(self, data_dir: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "ODWATCH_DATA_DIR": str(data_dir), "ODWATCH_CLICKHOUSE_DATABASE": "odwatch",
                    "ODWATCH_SPOOL_EVERY_S": "3600", "ODWATCH_DETECT_EVERY_S": "3600"}
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "odwatch", "serve", "--port", str(port), "--demo-if-empty"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def accounts(self) -> dict[str, str]:
        return dict(pair for line in self.lines for pair in ACCOUNT.findall(line))

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("odwatch serve exited:\n" + "\n".join(self.lines[-40:]))
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)      # polling a starting server; nothing is timed
        raise AssertionError("odwatch serve did not become healthy:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        (ARTIFACTS / "e2e-server.log").write_text("\n".join(self.lines), encoding="utf-8")

    def audit_entries(self) -> list[list[str]]:
        done = subprocess.run([sys.executable, "-c", AUDIT_ACTIONS], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def settle(page) -> None:
    """Wait until Streamlit has finished the current run, no element is stale, and none still
    shows the skeleton that stands in for it until its browser code is loaded."""
    page.wait_for_function(IDLE)


def assert_no_error_box(page, where: str) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:800]}"


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label(ZH["signin.password"]).wait_for()
    settle(page)
    page.get_by_label(ZH["signin.username"]).fill(username)
    page.get_by_label(ZH["signin.password"]).fill(password)
    page.get_by_role("button", name=ZH["signin.submit"]).click()
    nav_link(page, navigation.PAGES[0]).wait_for()
    settle(page)


def nav_link(page, spec: navigation.PageSpec, current: bool = False):
    # By its title: the default page's link is the bare root URL, not its url_path.
    selector = '[data-testid="stSidebarNavLink"]' + ('[aria-current="page"]' if current else "")
    return page.locator(selector, has=page.get_by_text(ZH[spec.title_key], exact=True))


def open_page(page, spec: navigation.PageSpec) -> None:
    if nav_link(page, spec, current=True).count() == 0:
        nav_link(page, spec).click()
        nav_link(page, spec, current=True).wait_for()
    settle(page)


def new_context(browser, **options):
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    served = Server(tmp_path_factory.mktemp("e2e-data"), free_port())
    try:
        served.wait_healthy()
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_visitor_sees_the_public_notice_but_no_signed_in_page(server, browser):
    context = new_context(browser)
    page = context.new_page()
    page.goto(f"{server.url}/public-notice")
    page.get_by_role("heading", name=ZH["notice.title"]).wait_for()
    settle(page)
    assert page.locator(SHELL).count() == 0          # the plain sign-in form is only the sign-in page's
    assert_no_error_box(page, "public notice")
    page.screenshot(path=str(ARTIFACTS / "page-public-notice-visitor.png"), full_page=True)
    page.goto(f"{server.url}/admin")
    page.get_by_text("Page not found").wait_for()    # Streamlit's own notice
    page.get_by_label(ZH["signin.password"]).wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "visitor-asks-for-admin.png"), full_page=True)
    assert page.get_by_role("heading", name=ZH["nav.admin"]).count() == 0
    context.close()


SHELL = f"#{SHELL_ID}"      # dashboard/signin_shell.py's plain sign-in form
ENTRY_SCRIPT = re.compile(r'<script type="module" crossorigin src="\./(static/js/[^"]+\.js)"')


def hold_streamlit(page, url: str):
    """Hold back Streamlit's entry script, so that its browser code has not started; return the
    function that lets it go."""
    with urllib.request.urlopen(url, timeout=30) as response:
        entry = ENTRY_SCRIPT.search(response.read().decode("utf-8"))
    assert entry, "no entry script in the sign-in page: has Streamlit's index.html changed?"
    held = []
    page.route(f"{url}/{entry.group(1)}", lambda route: held.append(route))

    def release() -> None:
        for _ in range(600):              # the request is made as soon as the page is read
            if held:
                held[0].continue_()
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"the browser never asked for Streamlit's entry script {entry.group(1)}")

    return release


def is_focused(locator) -> bool:
    return locator.evaluate(FOCUSED)


def sign_in_page_before_streamlit(browser, url: str):
    """A fresh browser on the sign-in page, Streamlit's code held back: (context, page, the plain
    form, the function that lets Streamlit start)."""
    context = new_context(browser)
    page = context.new_page()
    release = hold_streamlit(page, url)
    page.goto(url, wait_until="commit")
    return context, page, page.locator(SHELL), release


def test_the_sign_in_form_is_drawn_before_streamlit_starts_and_hands_over_what_was_typed(server, browser):
    password = server.accounts()["demo_official"]
    context, page, shell, release = sign_in_page_before_streamlit(browser, server.url)
    shell.get_by_role("heading", name=ZH["signin.title"]).wait_for()
    assert shell.get_by_label(ZH["signin.password"]).is_visible()
    assert page.locator('[data-testid="stApp"]').count() == 0          # Streamlit has not started
    page.screenshot(path=str(ARTIFACTS / "sign-in-before-streamlit.png"), full_page=True)
    shell_username = shell.get_by_label(ZH["signin.username"])
    page.wait_for_function(FOCUSED, arg=shell_username.element_handle())
    page.keyboard.type("demo_official")                     # the username field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(password[:4])
    release()
    shell.wait_for(state="detached")
    username = page.locator(f".st-key-{USERNAME_KEY} input")
    typed = page.locator(f".st-key-{PASSWORD_KEY} input")
    assert username.input_value() == "demo_official" and typed.input_value() == password[:4]
    assert is_focused(typed)
    page.keyboard.type(password[4:])                        # on typing, in Streamlit's form now
    page.keyboard.press("Enter")
    nav_link(page, navigation.PAGES[0]).wait_for()
    settle(page)
    assert_no_error_box(page, "signed in through the hand-over")
    context.close()


def test_a_sign_in_submitted_before_streamlit_starts_goes_through_once_it_has(server, browser):
    password = server.accounts()["demo_security"]
    context, page, shell, release = sign_in_page_before_streamlit(browser, server.url)
    shell.get_by_label(ZH["signin.username"]).fill("demo_security")
    shell.get_by_label(ZH["signin.password"]).fill(password)
    shell.get_by_role("button", name=ZH["signin.submit"]).click()
    assert shell.get_by_text(ZH["signin.connecting"]).is_visible()
    release()
    nav_link(page, navigation.PAGES[0]).wait_for()
    settle(page)
    assert shell.count() == 0
    assert_no_error_box(page, "signed in before Streamlit had started")
    context.close()


def test_the_hand_over_waits_while_the_user_composes_text_with_an_input_method(server, browser):
    """Chinese is typed through an input method: moving the focus mid-word would lose the word."""
    context, page, shell, release = sign_in_page_before_streamlit(browser, server.url)
    username = shell.get_by_label(ZH["signin.username"])
    username.fill("张")
    username.dispatch_event("compositionstart")
    release()
    page.locator(f".st-key-{PASSWORD_KEY} input").wait_for()
    page.wait_for_function(STREAMLIT_IDLE)                  # Streamlit's form is drawn, behind the copy
    page.wait_for_timeout(500)
    assert shell.count() == 1 and is_focused(username)
    username.dispatch_event("compositionend")
    shell.wait_for(state="detached")
    streamlit_username = page.locator(f".st-key-{USERNAME_KEY} input")
    assert streamlit_username.input_value() == "张" and is_focused(streamlit_username)
    context.close()


# Watches the warm-up container on every frame: which widgets it held, in how many frames it was
# visible or on screen, and whether it has gone again (its widgets arrive one by one, and the
# fragment's next timed run removes them a few seconds later, sooner than a test could look).
WATCH_WARM_UP = """
window.__warm = {keys: new Set(), frames: 0, visible: 0, onScreen: 0, gone: false};
const watch = () => {
  const warm = document.querySelector('.st-key-signin_warm');
  if (warm) {
    window.__warm.frames += 1;
    warm.querySelectorAll('[class*="st-key-signin_warm_"]').forEach(element => element.classList.forEach(
      name => name.startsWith('st-key-signin_warm_') && window.__warm.keys.add(name.slice(7))));
    if (getComputedStyle(warm).visibility !== 'hidden') window.__warm.visible += 1;
    if (warm.getBoundingClientRect().right > 0) window.__warm.onScreen += 1;
  } else if (window.__warm.frames) {
    window.__warm.gone = true;
  }
  if (!window.__warm.gone) requestAnimationFrame(watch);
};
requestAnimationFrame(watch);
"""


def test_the_sign_in_page_loads_the_pages_widget_code_out_of_sight_once(server, browser):
    """A few seconds after the form, the warm-up draws each kind of widget hidden, so the pages
    after sign-in show no loading skeletons; it is drawn once and then removed."""
    context = new_context(browser)
    context.add_init_script(WATCH_WARM_UP)
    page = context.new_page()
    page.goto(server.url)
    page.get_by_label(ZH["signin.password"]).wait_for()
    page.wait_for_function("() => window.__warm.gone")
    warm = page.evaluate("() => ({...window.__warm, keys: [...window.__warm.keys]})")
    assert warm["frames"] > 0 and warm["visible"] == 0 and warm["onScreen"] == 0
    kinds = ("chart", "selectbox", "date", "download", "toggle")        # a few of the kinds
    assert {f"signin_warm_{kind}" for kind in kinds} <= set(warm["keys"])
    assert page.get_by_label(ZH["signin.password"]).is_visible()
    context.close()


def test_agency_user_reaches_exactly_its_pages(server, browser):
    accounts = server.accounts()
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, server.url, "demo_agency", accounts["demo_agency"])
    expected = [ZH[spec.title_key] for spec in navigation.pages_for("agency")]
    titles = page.locator('[data-testid="stSidebarNavLink"] [data-testid="stMarkdownContainer"]')
    assert titles.all_inner_texts() == expected
    for spec in navigation.pages_for("agency"):
        open_page(page, spec)
        assert_no_error_box(page, f"agency {spec.key}")
    page.screenshot(path=str(ARTIFACTS / "agency-last-page.png"), full_page=True)
    context.close()


def test_an_agency_objects_to_its_published_result_and_records_a_rectification_item(server, browser):
    """An official publishes this year's evaluation for review; the agency sees its own result,
    files an objection (复核申请) and records a rectification item (整改)."""
    accounts = server.accounts()
    evaluation = navigation.PAGES[[p.key for p in navigation.PAGES].index("evaluation")]
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, server.url, "demo_official", accounts["demo_official"])
    open_page(page, evaluation)
    page.get_by_role("button", name=ZH["evaluation.publish"]).click()
    page.get_by_text(ZH["evaluation.state.published"].split("：")[0] + "：").wait_for()
    settle(page)
    assert_no_error_box(page, "evaluation published")
    context.close()

    context = new_context(browser)
    page = context.new_page()
    sign_in(page, server.url, "demo_agency", accounts["demo_agency"])
    open_page(page, evaluation)
    page.get_by_text(ZH["evaluation.city_mean_total"]).wait_for()
    assert page.get_by_role("button", name=ZH["evaluation.publish"]).count() == 0
    reason = page.get_by_role("textbox", name=ZH["evaluation.reason"])
    reason.fill("本单位数据集已按月更新，请核实目录同步时间")
    page.get_by_role("button", name=ZH["evaluation.file_objection"]).click()
    page.get_by_text(ZH["evaluation.objection_filed"]).wait_for()
    settle(page)
    page.get_by_role("textbox", name=ZH["evaluation.description"]).fill("建立数据更新提醒机制")
    page.get_by_role("button", name=ZH["evaluation.add_rectification"]).click()
    page.get_by_text(ZH["evaluation.rectification_added"]).wait_for()
    settle(page)
    assert_no_error_box(page, "agency objection and rectification")
    page.screenshot(path=str(ARTIFACTS / "agency-evaluation.png"), full_page=True)
    context.close()


def test_admin_visits_every_page_acts_and_exports(server, browser):
    """Runs last: it stops the server to read the stored audit entries."""
    accounts = server.accounts()
    assert set(accounts) == {f"demo_{role}" for role in vocabulary.ROLES}
    context = new_context(browser, accept_downloads=True)
    page = context.new_page()
    sign_in(page, server.url, "demo_admin", accounts["demo_admin"])

    for spec in navigation.pages_for("admin"):
        open_page(page, spec)
        assert_no_error_box(page, spec.key)
        page.screenshot(path=str(ARTIFACTS / f"page-{spec.key}.png"), full_page=True)

    page.get_by_text("English", exact=True).click()                 # the language switch
    page.get_by_role("heading", name=catalog("en")["notice.title"]).wait_for()
    settle(page)
    assert nav_link(page, navigation.PAGES[0]).count() == 0        # the menu is in English now
    page.screenshot(path=str(ARTIFACTS / "page-public-notice-english.png"), full_page=True)
    page.get_by_text("中文", exact=True).click()
    page.get_by_role("heading", name=ZH["notice.title"]).wait_for()
    settle(page)

    open_page(page, navigation.PAGES[[p.key for p in navigation.PAGES].index("triage")])
    page.get_by_role("combobox", name=ZH["pages.triage.selected"]).click()
    page.get_by_role("option").filter(has_text="[").first.click()     # an alert, not "Select all"
    page.keyboard.press("Escape")
    settle(page)
    page.get_by_role("button", name=ZH["pages.triage.acknowledge_n"].format(n=1)).click()
    page.get_by_text(ZH["pages.triage.done_acknowledged"].format(n=1)).wait_for()
    settle(page)
    assert_no_error_box(page, "triage after acknowledge")
    page.screenshot(path=str(ARTIFACTS / "action-triage-acknowledged.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("button", name=ZH["shell.download_csv"]).first.click()
    exported = Path(download_info.value.path()).read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf") and len(exported.splitlines()) > 1
    settle(page)
    assert_no_error_box(page, "triage after export")
    context.close()

    server.stop()
    entries = server.audit_entries()
    actions = [(action, actor) for action, actor, _ in entries]
    assert ("sign_in", "demo_admin") in actions
    assert ("alert.acknowledge", "demo_admin") in actions
    assert ("export", "demo_admin") in actions
    assert ("evaluation.publish", "demo_official") in actions
    assert ("evaluation.objection", "demo_agency") in actions
    assert ("evaluation.rectification", "demo_agency") in actions
