"""Every analytics page on the small demo platform: real figures, each role's scope.

The platform is generated and loaded once for this module with
`demo.platform.build_demo(scale="small")` (about 60k events), then scored for
quality and checked by the agreement and scraping detectors so the triage queue
holds real alerts. Each test renders one page as a user and compares what the page
shows with what the report functions return for that user's filters.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import database_in_environment, fresh_database
from page_apps import frame_with, render
from streamlit.testing.v1 import AppTest

from dashboard import choices
from dashboard.auth import User
from dashboard.session import today
from demo.platform import build_demo
from detectors import store
from detectors.registry import all_detectors
from detectors.runner import run_detectors
from odwatch.i18n import format_number
from reports import applications, complaints, evaluation_store, overview, quality, usage
from reports.filters import ReportFilters
from reports.quality import scan_catalog

SHOWN_DATASETS = 100     # dashboard/pages/quality.py draws the worst 100 of the matching datasets


@pytest.fixture(scope="module")
def demo():
    settings, client = fresh_database("t_pages_demo")
    build_demo(client, settings, scale="small")
    scan_catalog(client, settings)
    fast = [d for d in all_detectors(settings) if d.family == "agreement" or d.id == "scraping"]
    run_detectors(client, settings, detectors=fast)
    with database_in_environment(settings.clickhouse_database):
        yield client, settings


@pytest.fixture(scope="module")
def agency_user(demo):
    client, _ = demo
    return User("agnes", "agency", choices.agencies(client)[0]["agency_id"])


def default_filters(agency_id: str | None = None) -> ReportFilters:
    """The filters a page starts with: the last 30 days, scoped for an agency user."""
    end = today()
    return ReportFilters(date_from=end - timedelta(days=29), date_to=end, agency_id=agency_id)


def show(page: str, user: User, state: dict | None = None) -> AppTest:
    return render(page, user, state=state, timeout=120)


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_overview_shows_the_platforms_figures(demo):
    client, _ = demo
    filters = default_filters()
    shown = metrics(show("overview", User("olivia", "official")))
    traffic = overview.traffic_summary(client, filters)
    assert traffic["calls_period"] > 1000
    assert shown["区间接口调用"] == format_number(traffic["calls_period"])
    assert shown["区间下载"] == format_number(traffic["downloads_period"])
    by_class = dict(overview.open_datasets_by_class(client, filters).iter_rows())
    open_datasets = by_class.get("unconditional", 0) + by_class.get("conditional", 0)
    assert shown["开放数据集"] == format_number(open_datasets)
    assert shown["未处理告警"] == format_number(sum(store.alert_counts_by_severity(client).values()))


def test_usage_for_an_agency_user_is_scoped(demo, agency_user):
    client, _ = demo
    filters = default_filters(agency_user.agency_id)
    app = show("usage", agency_user)
    expected = usage.calls_by_day(client, filters)
    assert metrics(app)["调用次数"] == format_number(int(expected["calls"].sum()))
    own = set(usage.by_dataset(client, filters)["dataset_id"])
    shown = set(frame_with(app, "领域")["数据集编号"])
    assert shown and shown == own
    everything = set(usage.by_dataset(client, default_filters())["dataset_id"])
    assert everything - own                       # other agencies' datasets exist and are not shown


def test_quality_reaches_every_scored_dataset(demo):
    client, _ = demo
    scores = quality.dataset_scores(client, default_filters())
    datasets_tab = {"quality_tab": "各数据集与失分原因"}
    app = show("quality", User("olivia", "official"), datasets_tab)
    assert metrics(app)["已评分数据集"] == format_number(len(scores))
    shown = [s["dataset_id"] for s in scores[:SHOWN_DATASETS]]        # the worst first
    assert list(frame_with(app, "失分项")["数据集编号"]) == shown
    assert app.selectbox(key="quality_dataset").value == shown[0]
    # The best-scored dataset (past the drawn rows in a large catalog) is found by its id.
    best = scores[-1]["dataset_id"]
    found = show("quality", User("olivia", "official"), {**datasets_tab, "quality_search": best})
    assert best in set(frame_with(found, "失分项")["数据集编号"])
    found.selectbox(key="quality_dataset").select(best).run()
    assert not found.exception and found.selectbox(key="quality_dataset").value == best


def test_evaluation_ranks_every_agency(demo):
    client, settings = demo
    app = show("evaluation", User("olivia", "official"))
    result = evaluation_store.evaluate_year(client, settings, today().year)
    assert metrics(app)["参评开放主体"] == format_number(len(result.agencies))
    ranking = frame_with(app, "名次")
    assert list(ranking["总分"]) == [a.total for a in result.agencies]


def test_triage_queue_holds_the_detected_alerts(demo):
    client, _ = demo
    app = show("triage", User("sam", "security"))
    queue = frame_with(app, "告警编号")
    assert len(queue) > 0
    ids = set(queue["告警编号"])
    first = store.get_alert(client, queue["告警编号"].iloc[0])
    open_alerts = [a for status in ("new", "acknowledged")
                   for a in store.list_alerts(client, store.AlertFilters(
                       status=status, date_from=default_filters().date_from, date_to=today(), limit=500))]
    assert ids == {a["alert_id"] for a in open_alerts}
    worst = max(("low", "medium", "high", "critical").index(a["severity"]) for a in open_alerts)
    assert ("low", "medium", "high", "critical").index(first["severity"]) == worst


@pytest.mark.parametrize("page", ["violations", "applications", "complaints"])
def test_registry_pages_render_for_an_agency(demo, agency_user, page):
    client, _ = demo
    app = show(page, agency_user)
    assert app.title
    if page == "complaints":
        expected = complaints.complaint_timings(client, default_filters(agency_user.agency_id))
        assert metrics(app)["收到投诉"] == format_number(expected.height)
    if page == "applications":
        expected = applications.review_sla(client, default_filters(agency_user.agency_id))
        shown = [f.value for f in app.dataframe if "按时审核" in f.value.columns]
        if expected.height:
            assert set(shown[0]["开放主体编号"]) == {agency_user.agency_id}
        else:
            assert not shown
        reports_due = applications.overdue_usage_reports(client, default_filters(agency_user.agency_id))
        shown_reports = [f.value for f in app.dataframe if "逾期天数" in f.value.columns]
        assert (len(shown_reports[0]) if shown_reports else 0) == reports_due.height
