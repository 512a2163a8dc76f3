"""The Overview page's own data functions, on hand-built data in the real engine."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from reports import overview
from reports.filters import ReportFilters

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 27)


def _catalog(client) -> None:
    client.insert("agencies", [["a1", "市交通委", "Transport", "city_bureau"],
                               ["a2", "市卫健委", "Health", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    rows = [
        ["d1", "a1", "公交线路", "traffic", "unconditional", "open"],
        ["d2", "a1", "停车场", "traffic", "conditional", "open"],
        ["d3", "a2", "医院名录", "health", "conditional", "open"],
        ["d4", "a2", "旧数据", "health", "unconditional", "withdrawn"],
    ]
    client.insert("datasets", [r + [datetime(2026, 1, 1, tzinfo=SH)] for r in rows],
                  column_names=["dataset_id", "agency_id", "name", "domain", "open_class", "status",
                                "last_updated"])
    client.insert("consumers", [["c1", "甲公司", "company"], ["c2", "张三", "person"]],
                  column_names=["consumer_id", "name", "kind"])


def _event(n: int, day: date, dataset: str, consumer: str, channel: str = "api") -> list:
    ts = datetime(day.year, day.month, day.day, 10, 0, tzinfo=SH)
    return [f"e{n}", ts, consumer, dataset, channel, 200, 5]


def _traffic(client) -> None:
    events = []
    # Range 2026-11-18..27 (10 days); the previous period is 11-08..17.
    for _ in range(6):
        events.append(_event(len(events), TODAY, "d1", "c1"))                       # today, api, a1
    events.append(_event(len(events), TODAY, "d1", "", "download"))                  # today, anonymous
    events.append(_event(len(events), TODAY - timedelta(days=3), "d2", "c2"))       # in range, a1
    events.append(_event(len(events), TODAY - timedelta(days=4), "d3", "c1"))       # in range, a2
    events.append(_event(len(events), TODAY - timedelta(days=12), "d1", "c1"))      # previous period
    events.append(_event(len(events), TODAY - timedelta(days=12), "d1", "c1"))
    events.append(_event(len(events), TODAY - timedelta(days=40), "d1", "c1"))      # outside both
    client.insert("access_log", events,
                  column_names=["event_id", "ts", "consumer_id", "dataset_id", "channel", "status", "rows"])


def _filters(**kw) -> ReportFilters:
    return ReportFilters(date_from=TODAY - timedelta(days=9), date_to=TODAY, **kw)


def test_open_datasets_by_class_counts_only_open_and_scopes_by_agency(client):
    _catalog(client)
    everything = dict(overview.open_datasets_by_class(client, _filters()).iter_rows())
    assert everything == {"conditional": 2, "unconditional": 1}
    health = dict(overview.open_datasets_by_class(client, _filters(agency_id="a2")).iter_rows())
    assert health == {"conditional": 1}


def test_traffic_summary_splits_today_period_and_previous(client):
    _catalog(client)
    _traffic(client)
    summary = overview.traffic_summary(client, _filters())
    assert summary["calls_today"] == 6
    assert summary["downloads_today"] == 1
    assert summary["calls_period"] == 8
    assert summary["downloads_period"] == 1
    assert summary["calls_previous"] == 2
    assert summary["active_consumers"] == 2
    assert summary["active_consumers_previous"] == 1
    scoped = overview.traffic_summary(client, _filters(agency_id="a2"))
    assert scoped["calls_period"] == 1 and scoped["calls_today"] == 0
    people = overview.traffic_summary(client, _filters(consumer_kind="person"))
    assert people["calls_period"] == 1
    anonymous = overview.traffic_summary(client, _filters(consumer_kind="anonymous"))
    assert anonymous["downloads_period"] == 1 and anonymous["calls_period"] == 0


def test_daily_traffic_has_every_day_and_channel(client):
    _catalog(client)
    _traffic(client)
    frame = overview.daily_traffic(client, _filters())
    assert frame.height == 20                      # 10 days x 2 channels, zeros included
    today_api = frame.filter((frame["day"] == TODAY) & (frame["channel"] == "api"))["calls"].item()
    assert today_api == 6
    assert frame["calls"].sum() == 9


def test_top_datasets_names_and_orders_by_use(client):
    _catalog(client)
    _traffic(client)
    top = overview.top_datasets(client, _filters(), limit=2)
    assert top["dataset_id"].to_list() == ["d1", "d2"]
    first = top.row(0, named=True)
    assert first["dataset"] == "公交线路" and first["agency"] == "市交通委"
    assert first["api_calls"] == 6 and first["downloads"] == 1 and first["consumers"] == 1


def test_violations_and_average_quality_are_scoped(client):
    _catalog(client)
    at = datetime(2026, 5, 1, tzinfo=SH)
    client.insert("violations", [["v1", "c1", "d1", "a1", 4, at], ["v2", "c2", "d3", "a2", 1, at],
                                 ["v3", "c2", "d3", "a2", 1, datetime(2025, 5, 1, tzinfo=SH)]],
                  column_names=["violation_id", "consumer_id", "dataset_id", "agency_id", "category",
                                "recorded_at"])
    assert overview.violations_in_year(client, _filters()) == 2
    assert overview.violations_in_year(client, _filters(agency_id="a2")) == 1
    assert overview.violations_in_year(client, _filters(), year=2025) == 1
    assert overview.average_quality(client, _filters()) == {"average": None, "datasets": 0}
    checks = [["r1", "d1", "a1", datetime(2026, 1, 1, tzinfo=SH), 50.0],
              ["r2", "d1", "a1", datetime(2026, 2, 1, tzinfo=SH), 80.0],   # latest for d1
              ["r2", "d3", "a2", datetime(2026, 2, 1, tzinfo=SH), 60.0]]
    client.insert("quality_checks", checks,
                  column_names=["run_id", "dataset_id", "agency_id", "checked_at", "total"])
    assert overview.average_quality(client, _filters()) == {"average": 70.0, "datasets": 2}
    assert overview.average_quality(client, _filters(agency_id="a1")) == {"average": 80.0, "datasets": 1}


def test_percent_change():
    assert overview.percent_change(150, 100) == 50.0
    assert overview.percent_change(5, 0) is None
