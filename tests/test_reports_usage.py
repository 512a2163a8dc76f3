"""Usage analytics on a small hand-built access log; the materialized views fill the aggregates."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from odwatch.errors import UserError
from reports import usage
from reports.filters import ReportFilters

# Shanghai wall-clock times, inserted as UTC instants (Shanghai = UTC+8) so day buckets are tested for real.
EVENTS = [
    # id,   Shanghai time,       consumer, dataset, channel, status, latency, rows, fields, scenario, ip
    ("e1", "2026-03-01 09:00", "c1", "D1", "api", 200, 10, 100, ["name", "code"], "S1", "10.0.0.1"),
    ("e2", "2026-03-01 10:00", "c1", "D1", "api", 200, 20, 50, ["name"], "S1", "10.0.0.1"),
    ("e3", "2026-03-01 23:30", "c2", "D2", "download", 200, 30, 1000, [], "S2", "10.0.0.2"),
    ("e4", "2026-03-02 00:10", "c2", "D2", "api", 500, 40, 0, ["stop"], "S2", "10.0.0.2"),
    ("e5", "2026-03-02 11:00", "", "D3", "download", 200, 50, 500, [], "", "20.0.0.1"),
    ("e6", "2026-03-02 12:00", "", "D3", "download", 404, 60, 0, [], "", "20.0.0.2"),
    ("e7", "2026-03-02 13:00", "", "D1", "api", 200, 70, 10, ["name"], "", "20.0.0.1"),
    ("e8", "2026-03-03 09:00", "c3", "D3", "api", 200, 80, 20, ["name", "code"], "S3", "30.0.0.1"),
    ("e9", "2026-03-03 09:30", "c1", "D3", "api", 403, 90, 0, ["code"], "S1", "10.0.0.1"),
    ("e10", "2026-03-04 10:00", "c1", "D1", "api", 200, 100, 5, ["name"], "S1", "10.0.0.1"),
]
RANGE = ReportFilters(date(2026, 3, 1), date(2026, 3, 3))


def shanghai(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def platform(client):
    client.insert("agencies", [["A1", "市市场监管局"], ["A2", "市交通委"]],
                  column_names=["agency_id", "name"])
    client.insert("datasets", [["D1", "A1", "企业登记", "经济", "unconditional"],
                               ["D2", "A1", "公交站点", "交通", "conditional"],
                               ["D3", "A2", "企业年报", "经济", "unconditional"]],
                  column_names=["dataset_id", "agency_id", "name", "domain", "open_class"])
    client.insert("consumers", [["c1", "某科技有限公司", "company", "91440300708461136T"],
                                ["c2", "张三", "person", ""], ["c3", "某研究院", "organisation", ""]],
                  column_names=["consumer_id", "name", "kind", "credit_code"])
    client.insert("access_log", [
        [e, shanghai(ts), c, c and f"k-{c}", d, ch, "/api/" + d, "GET", st, lat, rows, 100, fields, sc, ip]
        for e, ts, c, d, ch, st, lat, rows, fields, sc, ip in EVENTS
    ], column_names=["event_id", "ts", "consumer_id", "key_id", "dataset_id", "channel", "endpoint", "method",
                     "status", "latency_ms", "rows", "bytes", "fields", "scenario", "client_ip"])
    return client


def rows_of(frame, key, columns):
    return {r[key]: tuple(r[c] for c in columns) for r in frame.iter_rows(named=True)}


def test_calls_by_day_buckets_by_shanghai_day_and_fills_quiet_days(platform):
    frame = usage.calls_by_day(platform, ReportFilters(date(2026, 2, 28), date(2026, 3, 3)))
    assert frame["day"].to_list() == [date(2026, 2, 28) + timedelta(days=n) for n in range(4)]
    got = rows_of(frame, "day", ["calls", "api_calls", "downloads", "rows", "errors", "consumers"])
    assert got == {
        date(2026, 2, 28): (0, 0, 0, 0, 0, 0),
        date(2026, 3, 1): (3, 2, 1, 1150, 0, 2),      # 23:30 Shanghai stays on the 1st
        date(2026, 3, 2): (4, 2, 2, 510, 2, 1),       # 00:10 Shanghai is the 2nd
        date(2026, 3, 3): (2, 2, 0, 20, 1, 2),
    }


def test_range_totals_count_each_visitor_once_over_the_range(platform):
    # c1 is seen on the 1st and the 3rd, 20.0.0.1 on the 2nd twice: each counts once.
    assert usage.range_totals(platform, RANGE) == {"consumers": 3, "anonymous_ips": 2}
    first_day = ReportFilters(date(2026, 3, 1), date(2026, 3, 1))
    assert usage.range_totals(platform, first_day) == {"consumers": 2, "anonymous_ips": 0}
    companies = ReportFilters(RANGE.date_from, RANGE.date_to, consumer_kind="company")
    assert usage.range_totals(platform, companies) == {"consumers": 1, "anonymous_ips": 0}


def test_by_agency_and_domain(platform):
    agencies = rows_of(usage.by_agency(platform, RANGE), "agency_id",
                       ["agency_name", "calls", "downloads", "rows", "errors", "consumers", "anonymous_ips",
                        "datasets"])
    assert agencies == {"A1": ("市市场监管局", 5, 1, 1160, 1, 2, 1, 2),
                        "A2": ("市交通委", 4, 2, 520, 2, 2, 2, 1)}
    domains = rows_of(usage.by_domain(platform, RANGE), "domain", ["calls", "datasets"])
    assert domains == {"经济": (7, 2), "交通": (2, 1)}


def test_by_dataset_consumer_kind_channel_and_scenario(platform):
    datasets = usage.by_dataset(platform, RANGE)
    assert datasets["dataset_id"].to_list() == ["D3", "D1", "D2"]            # most calls first
    d1 = rows_of(datasets, "dataset_id", ["calls", "agency_name", "domain"])["D1"]
    assert d1 == (3, "市市场监管局", "经济")
    consumers = rows_of(usage.by_consumer(platform, RANGE), "consumer_id",
                        ["consumer_kind", "calls", "datasets", "anonymous_ips"])
    assert consumers == {"c1": ("company", 3, 2, 0), "": ("anonymous", 3, 2, 2), "c2": ("person", 2, 1, 0),
                         "c3": ("organisation", 1, 1, 0)}
    kinds = rows_of(usage.by_consumer_kind(platform, RANGE), "consumer_kind", ["calls"])
    assert kinds == {"company": (3,), "anonymous": (3,), "person": (2,), "organisation": (1,)}
    channels = rows_of(usage.by_channel(platform, RANGE), "channel", ["calls", "rows"])
    assert channels == {"api": (6, 180), "download": (3, 1500)}
    scenarios = rows_of(usage.by_scenario(platform, RANGE), "scenario", ["calls"])
    assert scenarios == {"S1": (3,), "S2": (2,), "S3": (1,), "": (3,)}


@pytest.mark.parametrize(("changes", "expected_calls"), [
    ({"agency_id": "A1"}, 5),
    ({"agency_id": "A2"}, 4),
    ({"domain": "交通"}, 2),
    ({"dataset_id": "D3"}, 4),
    ({"channel": "download"}, 3),
    ({"consumer_kind": "anonymous"}, 3),
    ({"consumer_kind": "person"}, 2),
    ({"consumer_kind": "company", "channel": "api"}, 3),
    ({"agency_id": "A1", "consumer_kind": "anonymous"}, 1),
    ({"agency_id": "A2", "channel": "download", "consumer_kind": "company"}, 0),
])
def test_filters_narrow_every_measure(platform, changes, expected_calls):
    filters = ReportFilters(RANGE.date_from, RANGE.date_to, **changes)
    assert usage.calls_by_day(platform, filters)["calls"].sum() == expected_calls
    assert usage.by_channel(platform, filters)["calls"].sum() == expected_calls
    assert usage.by_consumer(platform, filters)["calls"].sum() == expected_calls


def test_top_fields_and_channel_filter(platform):
    fields = usage.top_fields(platform, RANGE)
    assert rows_of(fields, "field", ["calls", "datasets"]) == {
        "name": (4, 2), "code": (3, 2), "*": (3, 2), "stop": (1, 1)}
    people = usage.top_fields(platform, ReportFilters(RANGE.date_from, RANGE.date_to, consumer_kind="person"))
    assert rows_of(people, "field", ["calls", "datasets"]) == {"*": (1, 1), "stop": (1, 1)}
    assert fields["share"][0] == pytest.approx(4 / 11)
    assert fields["field"].to_list()[:1] == ["name"]
    assert usage.top_fields(platform, RANGE, limit=2).height == 2
    downloads = usage.top_fields(platform, ReportFilters(RANGE.date_from, RANGE.date_to, channel="download"))
    assert rows_of(downloads, "field", ["calls"]) == {"*": (3,)}


def test_field_heatmap_is_dataset_by_field(platform):
    heat = usage.field_heatmap(platform, RANGE)
    cells = {(r["dataset_id"], r["field"]): r["calls"] for r in heat.iter_rows(named=True)}
    assert cells == {("D1", "name"): 3, ("D1", "code"): 1, ("D2", "*"): 1, ("D2", "stop"): 1,
                     ("D3", "*"): 2, ("D3", "code"): 2, ("D3", "name"): 1}
    assert set(heat["dataset_name"]) == {"企业登记", "公交站点", "企业年报"}
    top = usage.field_heatmap(platform, RANGE, max_datasets=1, max_fields=1)
    assert top.select("dataset_id", "field").rows() == [("D3", "*")]     # ties broken by field name


def test_platform_operation_latency_errors_and_availability(platform):
    ops = usage.platform_operation(platform, ReportFilters(date(2026, 3, 1), date(2026, 3, 5)))
    by_day = {r["day"]: r for r in ops.iter_rows(named=True)}
    day2 = by_day[date(2026, 3, 2)]
    assert (day2["calls"], day2["errors"], day2["server_errors"]) == (4, 2, 1)
    assert day2["error_rate"] == pytest.approx(0.5)
    assert day2["availability"] == pytest.approx(0.75)
    assert 40 <= day2["latency_p50"] <= day2["latency_p95"] <= day2["latency_p99"] <= 70
    assert by_day[date(2026, 3, 4)]["latency_p50"] == pytest.approx(100)
    quiet = by_day[date(2026, 3, 5)]
    assert quiet["calls"] == 0 and quiet["availability"] is None
    assert ops.schema["day"] == pl.Date


def test_consumer_usage_report_draft(platform):
    platform.insert("agreements", [["AG1", "c1", "D1", ["S1"], ["name", "code"], date(2026, 1, 1),
                                    date(2026, 12, 31), 1000, 100000]],
                    column_names=["agreement_id", "consumer_id", "dataset_id", "scenarios", "allowed_fields",
                                  "valid_from", "valid_to", "daily_call_quota", "daily_row_quota"])
    report = usage.consumer_usage_report(platform, "c1", date(2026, 3, 1), date(2026, 3, 4))
    assert report["consumer"]["name"] == "某科技有限公司"
    assert report["totals"] == {"calls": 4, "api_calls": 4, "downloads": 0, "rows": 155, "errors": 1,
                                "datasets": 2, "days_active": 3}
    d1, d3 = report["datasets"]
    assert (d1["dataset_id"], d1["calls"], d1["rows"], d1["days_active"]) == ("D1", 3, 155, 2)
    assert (d1["first_day"], d1["last_day"]) == (date(2026, 3, 1), date(2026, 3, 4))
    assert d1["main_fields"] == [{"field": "name", "calls": 3, "share": 0.75},
                                 {"field": "code", "calls": 1, "share": 0.25}]
    assert d1["scenarios"] == [{"scenario": "S1", "calls": 3}]
    assert [a["agreement_id"] for a in d1["agreements"]] == ["AG1"]
    assert (d3["dataset_id"], d3["calls"], d3["errors"], d3["agreements"]) == ("D3", 1, 1, [])
    with pytest.raises(UserError, match="No consumer"):
        usage.consumer_usage_report(platform, "ghost", date(2026, 3, 1), date(2026, 3, 4))
    with pytest.raises(UserError, match="anonymous"):
        usage.consumer_usage_report(platform, "", date(2026, 3, 1), date(2026, 3, 4))


def test_a_consumer_registered_after_its_calls_gets_its_kind_when_the_consumers_load(platform, tmp_path):
    from ingest.reference import load_reference_dir

    platform.insert("access_log", [["e11", shanghai("2026-03-03 15:00"), "c4", "k-c4", "D1", "api", "/api/D1",
                                    "GET", 200, 10, 7, 100, ["name"], "S4", "40.0.0.1"]],
                    column_names=["event_id", "ts", "consumer_id", "key_id", "dataset_id", "channel",
                                  "endpoint", "method", "status", "latency_ms", "rows", "bytes", "fields",
                                  "scenario", "client_ip"])
    kinds = rows_of(usage.by_consumer_kind(platform, RANGE), "consumer_kind", ["calls", "consumers"])
    assert kinds[""] == (1, 1)                       # not in the reference yet: no kind to file it under
    (tmp_path / "consumers.csv").write_text(
        "consumer_id,name,kind,credit_code,registered_at\nc4,李四,person,,2026-03-03\n", encoding="utf-8")
    assert load_reference_dir(platform, tmp_path)["consumers"].loaded == 1
    kinds = rows_of(usage.by_consumer_kind(platform, RANGE), "consumer_kind", ["calls", "consumers"])
    assert "" not in kinds
    assert kinds["person"] == (3, 2)                 # c2's two calls and c4's one
    assert kinds["company"] == (3, 1)                # the others unchanged by the rebuild
    people = ReportFilters(RANGE.date_from, RANGE.date_to, consumer_kind="person")
    assert usage.calls_by_day(platform, people)["calls"].sum() == 3
    assert rows_of(usage.top_fields(platform, people), "field", ["calls"])["name"] == (1,)


def test_the_mix_section_in_one_query_matches_the_breakdowns_one_by_one(platform):
    for filters in (RANGE, ReportFilters(RANGE.date_from, RANGE.date_to, agency_id="A1"),
                    ReportFilters(RANGE.date_from, RANGE.date_to, consumer_kind="company")):
        together = usage.mix(platform, filters)
        for key, alone in (("consumer_kind", usage.by_consumer_kind(platform, filters)),
                           ("channel", usage.by_channel(platform, filters)),
                           ("scenario", usage.by_scenario(platform, filters))):
            assert together[key].select(alone.columns).sort(key).rows() == alone.sort(key).rows()


def test_traffic_by_day_is_calls_by_day_without_the_distinct_counts(platform):
    days = ReportFilters(date(2026, 2, 28), date(2026, 3, 3))
    sums = usage.traffic_by_day(platform, days)
    full = usage.calls_by_day(platform, days)
    assert sums.rows() == full.select(sums.columns).rows()
    assert sums["calls"].to_list() == [0, 3, 4, 2]
