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
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from odwatch_processes import free_port, odwatch_env, wait_healthy

from dashboard import navigation
from odwatch import vocabulary
from odwatch.i18n import catalog
from warehouse.client import BUSY_MESSAGE

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STARTUP_TIMEOUT_S = 900          # the first start builds the small demo platform
ACTION_TIMEOUT_MS = 180_000      # generous on a shared machine; a wait ends as soon as the page is ready
ACCOUNT = re.compile(r"(demo_\w+) / ([A-Za-z0-9_-]+)")   # as `odwatch demo` prints them
IDLE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app && app.getAttribute('data-test-script-state') === 'notRunning'
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && !document.querySelector('[data-stale="true"]')
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""
ZH = catalog("zh")

AUDIT_ACTIONS = """
import json
from warehouse import connect
rows = connect().query("SELECT action, actor, object_id FROM audit_log ORDER BY seq").result_rows
print(json.dumps([list(r) for r in rows]))
"""


class Server:
    """`odwatch serve` as a subprocess, its output kept for the accounts and for the artifact log."""

    def __init__(self, data_dir: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = odwatch_env(data_dir, ODWATCH_CLICKHOUSE_DATABASE="odwatch", ODWATCH_SPOOL_EVERY_S="3600",
                               ODWATCH_DETECT_EVERY_S="3600")
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "odwatch", "serve", "--port", str(port), "--demo-if-empty"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def accounts(self) -> dict[str, str]:
        return dict(pair for line in self.lines for pair in ACCOUNT.findall(line))

    def wait_healthy(self) -> None:
        wait_healthy(self.process, self.port, STARTUP_TIMEOUT_S, output=lambda: "\n".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.process.pid).children(recursive=True):
                    child.kill()              # Streamlit's process has a process group of its own
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.pump.join(timeout=30)
        (ARTIFACTS / "e2e-server.log").write_text("\n".join(self.lines), encoding="utf-8")

    def audit_entries(self) -> list[list[str]]:
        done = subprocess.run([sys.executable, "-c", AUDIT_ACTIONS], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    def odwatch(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "odwatch", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)


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


def choose_first_option(page, combobox) -> None:
    """Open a select box and pick its first option; a click that lands while the page is still
    settling can leave the list closed, so the box is opened again until the list shows."""
    for _ in range(5):
        combobox.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=20_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: open the box again
            page.keyboard.press("Escape")
            settle(page)
    page.get_by_role("option").first.click()


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
    assert_no_error_box(page, "public notice")
    page.screenshot(path=str(ARTIFACTS / "page-public-notice-visitor.png"), full_page=True)
    page.goto(f"{server.url}/admin")
    page.get_by_text("Page not found").wait_for()    # Streamlit's own notice
    page.get_by_label(ZH["signin.password"]).wait_for()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "visitor-asks-for-admin.png"), full_page=True)
    assert page.get_by_role("heading", name=ZH["nav.admin"]).count() == 0
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


def test_security_records_a_report_with_evidence_and_sees_offender_histories(server, browser, tmp_path):
    """A 举报 with a PDF attached, recorded through the violations page; the offender history of the
    consumer it names; and the offender panel in the triage view of a confirmed alert."""
    accounts = server.accounts()
    by_key = {p.key: p for p in navigation.PAGES}
    evidence = tmp_path / "举报截图.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% a screenshot sent with the report\n")
    context = new_context(browser)
    page = context.new_page()
    sign_in(page, server.url, "demo_security", accounts["demo_security"])
    open_page(page, by_key["violations"])
    page.get_by_role("heading", name=ZH["vsrc.record"]).scroll_into_view_if_needed()
    form = page.locator('[data-testid="stForm"]')
    form.get_by_text(ZH["vsrc.source.report"], exact=True).click()
    choose_first_option(page, form.get_by_role("combobox", name=ZH["vsrc.consumer"]))
    form.get_by_role("textbox", name=ZH["vsrc.reporter_name"]).fill("李四")
    form.get_by_role("textbox", name=ZH["vsrc.reporter_contact"]).fill("13812345678")
    form.get_by_role("textbox", name=ZH["vsrc.description"]).fill("利用开放数据向公众推送营销短信")
    form.locator('input[type="file"]').set_input_files(str(evidence))
    form.get_by_text(evidence.name).wait_for()
    form.get_by_role("button", name=ZH["vsrc.submit"]).click()
    page.get_by_text(ZH["vsrc.saved"].split("{")[0]).wait_for()
    settle(page)
    assert_no_error_box(page, "violation recorded from a report")
    # The offender history opens on the consumer of the newest record: the one just recorded.
    panel = page.locator(".st-key-violations_offender_panel")
    panel.get_by_text(ZH["offender.title"]).wait_for()
    assert panel.get_by_text("个月内").count() > 0
    page.screenshot(path=str(ARTIFACTS / "violation-from-report.png"), full_page=True)

    open_page(page, by_key["triage"])
    page.get_by_role("combobox", name=ZH["pages.triage.status"]).click()
    page.get_by_role("option", name=ZH["pages.triage.state.confirmed"]).click()
    settle(page)
    triage_panel = page.locator(".st-key-triage_offender_panel")
    # A confirmed alert's consumer has its record; the alert is decided, so no "if confirmed" line.
    triage_panel.get_by_text(re.compile(r"个月内有 \d+ 起违规记录。")).wait_for()
    settle(page)
    assert triage_panel.get_by_text("这将是第").count() == 0
    assert_no_error_box(page, "triage offender panel")
    page.screenshot(path=str(ARTIFACTS / "triage-offender-panel.png"), full_page=True)
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

    # The dashboard's process holds the engine now: another command is refused in one sentence.
    busy = server.odwatch("users", "list")
    assert busy.returncode == 2
    assert BUSY_MESSAGE in " ".join(busy.stderr.split()) and "Cannot lock file" not in busy.stderr
    server.stop()
    assert server.process.returncode == 0 and "Dashboard stopped." in server.lines
    entries = server.audit_entries()
    actions = [(action, actor) for action, actor, _ in entries]
    assert ("sign_in", "demo_admin") in actions
    assert ("alert.acknowledge", "demo_admin") in actions
    assert ("export", "demo_admin") in actions
    assert ("evaluation.publish", "demo_official") in actions
    assert ("evaluation.objection", "demo_agency") in actions
    assert ("evaluation.rectification", "demo_agency") in actions
    assert ("violation.record", "demo_security") in actions
    assert ("violation.attachment", "demo_security") in actions
    # The entries of both of serve's processes (the demo build, the dashboard) verify under one key.
    verified = server.odwatch("audit", "verify")
    assert verified.returncode == 0, verified.stdout


# ---- Hostile input: a platform whose callers chose their names, fields, scenarios and agents -------------

LINK = "[Re-auth](http://attacker.example/phish)"
IMAGE = "![pix](http://attacker.example/x.png)"
FORMULA = '=HYPERLINK("http://attacker.example/?leak","click me")'
TAG = '<img src="http://attacker.example/t.png">'
HOSTILE_PASSWORD = "correct horse battery staple"
HOSTILE_PLATFORM = f"""
from datetime import date, timedelta
from dashboard import auth
from detectors import store
from detectors.base import Alert
from odwatch import clock
from odwatch.settings import get_settings
from warehouse import connect

client = connect(get_settings())
client.insert("agencies", [["a1", "市交通委", "", "city_bureau"]],
              column_names=["agency_id", "name", "name_en", "kind"])
client.insert("datasets", [["d1", "a1", {IMAGE!r}, "交通", "conditional", date(2024, 1, 1)]],
              column_names=["dataset_id", "agency_id", "name", "domain", "open_class", "published_at"])
client.insert("consumers", [["c-link", {LINK!r}, "company", "91310000MA1FL0BQ3X"],
                            ["c-formula", {FORMULA!r}, "company", "91310000MA1FL0BQ3X"],
                            ["c-tag", {TAG!r}, "person", ""]],
              column_names=["consumer_id", "name", "kind", "credit_code"])
now = clock.now()
rows = [[f"e{{n}}", now - timedelta(hours=n + 1), "c-link", "d1", "api", 200, [{IMAGE!r}, "name"], {LINK!r},
         "203.0.113.9", {TAG!r}] for n in range(20)]
client.insert("access_log", rows, column_names=["event_id", "ts", "consumer_id", "dataset_id", "channel",
                                                "status", "fields", "scenario", "client_ip", "user_agent"])
day = clock.floor_to_day(now) - timedelta(days=1)
store.save_alerts(client, [
    Alert(detector_id="agreement.fields_outside_agreement", category="fields_outside_agreement",
          article="第三十一条", severity="critical", score=5.0, message="alerts.fields_outside_agreement",
          params={{"fields": [{IMAGE!r}]}}, window_start=day, window_end=day + timedelta(days=1),
          consumer_id="c-link", dataset_id="d1"),
    Alert(detector_id="agreement.scenario_mismatch", category="scenario_mismatch", article="第三十一条",
          severity="high", score=3.0, message="alerts.scenario_mismatch", params={{"scenarios": [{LINK!r}]}},
          window_start=day, window_end=day + timedelta(days=1), consumer_id="c-tag", dataset_id="d1")])
client.command("INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category, "
               "description, alert_ids, recorded_at, recorded_by, severity, publicized) VALUES "
               "('v1', 'c-formula', '', 'd1', 'a1', 2, {LINK!r}, [], now(), 's', 'high', 1)")
auth.add_user(client, "e2e_admin", "admin", {HOSTILE_PASSWORD!r})
"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e-hostile")
    seeded = subprocess.run([sys.executable, "-c", HOSTILE_PLATFORM], cwd=ROOT, env=odwatch_env(data_dir),
                            capture_output=True, text=True, timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    served = Server(data_dir, free_port())             # not empty: no demo is built
    try:
        served.wait_healthy()
        yield served
    finally:
        served.stop()


def assert_nothing_live(page, where: str) -> None:
    """No image, link or element the hostile text asked for: it shows as text."""
    live = page.locator('img[src*="attacker"], a[href*="attacker"], [src*="attacker.example"]')
    assert live.count() == 0, f"{where}: {live.first.evaluate('e => e.outerHTML')[:300]}"


def test_hostile_names_fields_and_agents_show_as_text_and_the_notice_csv_is_neutralised(hostile_server,
                                                                                         browser):
    context = new_context(browser, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{hostile_server.url}/public-notice")
    page.get_by_role("heading", name=ZH["notice.title"]).wait_for()
    settle(page)
    assert_nothing_live(page, "public notice")
    with page.expect_download() as download_info:
        page.get_by_role("button", name=ZH["shell.download_csv"]).first.click()
    notice = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert f"'{FORMULA}".replace('"', '""') in notice and f",{FORMULA}".replace('"', '""') not in notice

    sign_in(page, hostile_server.url, "e2e_admin", HOSTILE_PASSWORD)
    for spec in navigation.pages_for("admin"):
        open_page(page, spec)
        assert_no_error_box(page, spec.key)
        assert_nothing_live(page, spec.key)
    open_page(page, navigation.PAGES[[p.key for p in navigation.PAGES].index("triage")])
    page.get_by_text("![pix](http://attacker.example/x.png)", exact=False).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "hostile-triage.png"), full_page=True)
    assert_nothing_live(page, "triage detail")
    context.close()
