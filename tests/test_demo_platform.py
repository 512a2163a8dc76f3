"""The demo platform (demo/platform.py): the generator's determinism, the input contract, lawful traffic
and the episodes, checked from the files it writes, as a user of them would see them; and build_demo,
which loads them through the user's own ingest path without a rejected line.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import polars as pl
import pytest

from demo.platform import EPISODE_TYPES, REFERENCE_TABLES, build_demo, generate_platform
from odwatch import codes
from odwatch.calendar import is_statutory_holiday
from odwatch.errors import UserError
from odwatch.vocabulary import ALERT_CATEGORIES

UNTIL = date(2026, 11, 27)
CONTRACT_FIELDS = [
    "event_id",
    "ts",
    "consumer_id",
    "key_id",
    "dataset_id",
    "channel",
    "endpoint",
    "method",
    "status",
    "latency_ms",
    "rows",
    "bytes",
    "fields",
    "scenario",
    "client_ip",
    "user_agent",
    "params",
]
TS_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    return generate_platform(tmp_path_factory.mktemp("synth") / "demo", "small", seed=7, until=UNTIL)


@pytest.fixture(scope="module")
def reference(platform) -> dict[str, list[dict]]:
    return {
        table: [
            json.loads(line) for line in (platform.reference_dir / f"{table}.jsonl").open(encoding="utf-8")
        ]
        for table in REFERENCE_TABLES
    }


@pytest.fixture(scope="module")
def log(platform) -> pl.DataFrame:
    frame = pl.concat(
        [pl.read_ndjson(path, infer_schema_length=None) for path in platform.log_files],
        how="diagonal_relaxed",
    )
    return frame.with_columns(
        t=pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.3f%:z").dt.convert_time_zone("Asia/Shanghai"),
        # A tampering episode sends page numbers that are not numbers ("all"): those are null here.
        page=pl.col("params").struct.field("page").cast(pl.Int64, strict=False),
    )


def _digest(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts).astimezone(SHANGHAI)


def _episode_entities(platform) -> tuple[set[str], set[str]]:
    consumers = {e["consumer_id"] for e in platform.episodes if e["consumer_id"]}
    ips = {e["client_ip"] for e in platform.episodes if e["client_ip"]}
    return consumers, ips


def _network_prefix(network: str) -> str:
    """The text every address of an episode's network starts with: "45.133.0.0/24" -> "45.133.0."."""
    address = network.split("/")[0]
    return address.rsplit(".", 1)[0] + "." if "." in address else address.rstrip(":") + ":"


def _lawful(log: pl.DataFrame, platform) -> pl.DataFrame:
    """Traffic of no labelled entity: no episode's consumer, address or network, no look-alike's."""
    consumers, ips = _episode_entities(platform)
    networks = [_network_prefix(ip) for ip in ips if "/" in ip]
    in_network = pl.any_horizontal([pl.col("client_ip").str.starts_with(n) for n in networks]) \
        if networks else pl.lit(False)
    return log.filter(~pl.col("consumer_id").is_in(list(consumers)) & ~pl.col("client_ip").is_in(list(ips))
                      & ~in_network)


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(platform, tmp_path):
    again = generate_platform(tmp_path / "again", "small", seed=7, until=UNTIL)
    assert _digest(again.out_dir) == _digest(platform.out_dir)
    other = generate_platform(tmp_path / "other", "small", seed=8, until=UNTIL)
    theirs, ours = _digest(other.out_dir), _digest(platform.out_dir)
    assert theirs.keys() == ours.keys()
    assert all(theirs[name] != ours[name] for name in ours if name != "reference/agencies.jsonl")


# ---------------------------------------------------------------- the input contract


def test_every_log_line_follows_the_input_contract(platform, reference):
    datasets = {d["dataset_id"] for d in reference["datasets"]}
    start = datetime.combine(UNTIL - timedelta(days=180), datetime.min.time(), SHANGHAI)
    end = datetime.combine(UNTIL, datetime.min.time(), SHANGHAI)
    seen: set[str] = set()
    lines = 0
    for path in platform.log_files:
        for line in path.open(encoding="utf-8"):
            event = json.loads(line)
            lines += 1
            assert list(event) == CONTRACT_FIELDS
            assert event["event_id"] and event["event_id"] not in seen
            seen.add(event["event_id"])
            assert TS_PATTERN.match(event["ts"]), event["ts"]
            assert start <= _parse(event["ts"]) < end
            # A request for no dataset (a scanner's, a crawler's robots.txt) has none.
            assert event["dataset_id"] in datasets or event["dataset_id"] == "" and not event["consumer_id"]
            assert event["channel"] in ("api", "download") and event["method"] in ("GET", "POST")
            assert 100 <= event["status"] <= 599
            assert min(event["latency_ms"], event["rows"], event["bytes"]) >= 0
            assert all(isinstance(f, str) for f in event["fields"])
            assert isinstance(event["scenario"], str) and isinstance(event["user_agent"], str)
            assert isinstance(event["params"], dict)
            ipaddress.ip_address(event["client_ip"])
            assert event["consumer_id"] or not event["key_id"]
    assert lines == platform.events > 30_000


def test_reference_files_have_exactly_the_table_columns(platform, client):
    for table in REFERENCE_TABLES:
        columns = [
            r[0]
            for r in client.query(
                "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
                "ORDER BY position",
                parameters={"t": table},
            ).result_rows
            if r[0] != "updated_at"
        ]
        first = json.loads((platform.reference_dir / f"{table}.jsonl").open(encoding="utf-8").readline())
        assert list(first) == columns, table


def test_organisations_carry_valid_credit_codes_and_persons_none(reference):
    consumers = reference["consumers"]
    assert {c["kind"] for c in consumers} == {"person", "company", "organisation"}
    for consumer in consumers:
        if consumer["kind"] == "person":
            assert consumer["credit_code"] == ""
        else:
            assert codes.is_valid(consumer["credit_code"]), consumer
    issued = [c["credit_code"] for c in consumers if c["credit_code"]]
    assert len(set(issued)) == len(issued)


def test_catalog_covers_agencies_classes_formats_and_quality_problems(reference, platform):
    agencies = reference["agencies"]
    assert {a["kind"] for a in agencies} == {"city_bureau", "district"}
    assert sum(a["kind"] == "district" for a in agencies) == 16 and len(agencies) >= 48
    datasets = reference["datasets"]
    assert {d["open_class"] for d in datasets} == {"unconditional", "conditional", "closed"}
    assert {d["format"] for d in datasets} == {"api", "csv", "json", "xml", "xlsx", "pdf", "doc", "other"}
    assert all(
        isinstance(d["fields"], list) and {"name", "type", "description"} <= set(d["fields"][0])
        for d in datasets
    )
    assert any(f["name"] == "tm_stmp" and not f["description"] for d in datasets for f in d["fields"])
    assert any(d["has_sample"] for d in datasets) and any(d["description"] == "" for d in datasets)
    overdue = [
        d
        for d in datasets
        if d["update_frequency"] == "monthly"
        and _parse(d["last_updated"]).date() < UNTIL - timedelta(days=62)
    ]
    assert overdue
    assert {c["outcome"] for c in reference["complaints"]} >= {"withdrawn", "restored", "reopened"}


def test_applications_include_late_reviews_silent_rejections_and_pending(reference):
    decided = [a for a in reference["applications"] if a["accepted_at"] and a["decided_at"]]
    # Working days strictly after acceptance, on the statutory calendar (DESIGN.md).
    late = [
        a
        for a in decided
        if len(
            chinese_calendar.get_workdays(
                _parse(a["accepted_at"]).date() + timedelta(days=1), _parse(a["decided_at"]).date()
            )
        )
        > 5
    ]
    assert 0 < len(late) < len(decided) / 2
    assert any(a["decision"] == "rejected" and a["reason"] == "" for a in reference["applications"])
    assert any(a["decision"] == "pending" and a["decided_at"] is None for a in reference["applications"])


def test_reference_timelines_are_in_order(reference):
    applications = {a["application_id"]: a for a in reference["applications"]}
    for a in reference["applications"]:
        times = [_parse(a[k]) for k in ("submitted_at", "accepted_at", "decided_at") if a[k]]
        assert times == sorted(times), a
    for agreement in reference["agreements"]:
        decided = _parse(applications[agreement["application_id"]]["decided_at"])
        assert decided <= _parse(agreement["signed_at"])
        assert agreement["valid_from"] <= agreement["valid_to"]
    for c in reference["complaints"]:
        times = [_parse(c[k]) for k in ("received_at", "suspended_at", "verified_at", "resolved_at") if c[k]]
        assert times == sorted(times), c
    for r in reference["usage_reports"]:
        assert r["period_start"] <= r["period_end"] < r["due_date"]


# ---------------------------------------------------------------- lawful background


def _agreements(reference) -> pl.DataFrame:
    return pl.DataFrame(reference["agreements"]).select(
        "consumer_id",
        "dataset_id",
        "scenarios",
        "allowed_fields",
        "ip_allowlist",
        "daily_call_quota",
        "daily_row_quota",
        pl.col("valid_from").str.to_date(),
        pl.col("valid_to").str.to_date(),
    )


def _ip_allowed(ip: str, allowlist: list[str]) -> bool:
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowlist)


def test_lawful_agreement_traffic_respects_its_agreement(log, reference, platform):
    conditional = [d["dataset_id"] for d in reference["datasets"] if d["open_class"] == "conditional"]
    calls = _lawful(log, platform).filter(pl.col("dataset_id").is_in(conditional))
    assert calls.height > 1000 and (calls["consumer_id"] != "").all()
    joined = calls.join(_agreements(reference), on=["consumer_id", "dataset_id"], how="left")
    assert joined["daily_call_quota"].null_count() == 0, "conditional data used without an agreement"
    day = pl.col("t").dt.date()
    assert joined.filter((day < pl.col("valid_from")) | (day > pl.col("valid_to"))).height == 0
    assert joined.filter(pl.col("fields").list.len() == 0).height == 0
    outside = joined.filter(pl.col("fields").list.set_difference(pl.col("allowed_fields")).list.len() > 0)
    assert outside.height == 0
    assert joined.filter(~pl.col("scenarios").list.contains(pl.col("scenario"))).height == 0
    pairs = joined.select("client_ip", "ip_allowlist").unique(subset=["client_ip"]).rows()
    assert all(_ip_allowed(ip, allowlist) for ip, allowlist in pairs)
    daily = joined.group_by("consumer_id", "dataset_id", day.alias("day")).agg(
        pl.len().alias("calls"),
        pl.col("rows").sum(),
        pl.col("daily_call_quota").first(),
        pl.col("daily_row_quota").first(),
    )
    assert (
        daily.filter(
            (pl.col("calls") > pl.col("daily_call_quota")) | (pl.col("rows") > pl.col("daily_row_quota"))
        ).height
        == 0
    )


def test_heavy_lawful_users_are_steady(log, platform):
    lawful = _lawful(log, platform).filter(pl.col("consumer_id") != "")
    volume = lawful.group_by("consumer_id").agg(
        pl.len().alias("calls"), pl.col("t").dt.date().n_unique().alias("days")
    )
    heavy = volume.filter(pl.col("calls") >= 5 * volume["calls"].median())
    # Their agreements are honoured (test above); here: they are many days a week, not one big day.
    assert heavy.height >= 3
    assert heavy.filter(pl.col("days") >= 100).height >= 3


def test_anonymous_and_registered_background_use_only_open_data_and_no_suspended_data(
    log, reference, platform
):
    open_ids = [d["dataset_id"] for d in reference["datasets"] if d["open_class"] == "unconditional"]
    lawful = _lawful(log, platform)
    anonymous = lawful.filter(pl.col("consumer_id") == "")
    assert anonymous.height > 1000 and (anonymous["key_id"] == "").all()
    assert anonymous["dataset_id"].is_in(open_ids).all()
    assert set(anonymous["channel"].unique()) == {"api", "download"}
    closed = [
        d["dataset_id"] for d in reference["datasets"] if d["open_class"] == "closed" or d["status"] != "open"
    ]
    assert lawful.filter(pl.col("dataset_id").is_in(closed)).height == 0
    for complaint in reference["complaints"]:
        if complaint["suspended_at"]:
            end = (
                _parse(complaint["resolved_at"])
                if complaint["resolved_at"]
                else datetime(2100, 1, 1, tzinfo=SHANGHAI)
            )
            hits = lawful.filter(
                (pl.col("dataset_id") == complaint["dataset_id"])
                & pl.col("t").is_between(_parse(complaint["suspended_at"]), end, closed="left")
            )
            assert hits.height == 0, complaint["complaint_id"]


def test_background_has_daily_weekly_and_holiday_rhythm(log, platform):
    lawful = _lawful(log, platform)
    by_hour = lawful.group_by(pl.col("t").dt.hour().alias("h")).len()
    counts = dict(by_hour.rows())
    assert counts[10] > 8 * counts[3]
    per_day = lawful.group_by(pl.col("t").dt.date().alias("d")).len()
    days = dict(per_day.rows())
    assert days[date(2026, 10, 2)] < days[date(2026, 10, 9)] / 2  # National Day vs the Friday after
    assert days[date(2026, 10, 2)] > 0
    assert days[date(2026, 11, 21)] < days[date(2026, 11, 20)] / 2  # Saturday vs Friday


def test_background_never_looks_like_the_malicious_patterns(log, platform):
    lawful = _lawful(log, platform)
    keyed = lawful.filter(pl.col("key_id") != "").with_columns(
        net=pl.col("client_ip").str.replace(r"\.\d+$", ""), hour=pl.col("t").dt.truncate("1h")
    )
    assert keyed.group_by("key_id", "hour").agg(pl.col("net").n_unique())["net"].max() < 5
    assert lawful["page"].max() <= 8
    errors = lawful.group_by("consumer_id", "client_ip").agg(
        pl.len().alias("calls"), (pl.col("status").is_in([401, 403, 404])).mean().alias("share")
    )
    assert errors.filter((pl.col("calls") >= 10) & (pl.col("share") >= 0.5)).height == 0


# ---------------------------------------------------------------- episodes


def test_every_category_has_at_least_eight_labelled_episodes(platform):
    counts = platform.episodes_by_type()
    assert set(ALERT_CATEGORIES) <= set(counts)
    assert min(n for kind, n in counts.items() if not kind.startswith("benign.")) >= 8
    assert {kind for kind, n in counts.items() if kind.startswith("benign.") and n} == {
        "benign.shared_egress", "benign.organic_growth", "benign.health_check", "benign.nightly_download",
        "benign.broken_client", "benign.crawler"}
    rows = [json.loads(line) for line in platform.episodes_path.open(encoding="utf-8")]
    assert len(rows) == sum(counts.values())
    for row in rows:
        assert row["consumer_id"] or row["key_id"] or row["client_ip"]
        assert _parse(row["starts_at"]) < _parse(row["ends_at"])


def _episode_calls(log: pl.DataFrame, episode: dict) -> pl.DataFrame:
    start, end = _parse(episode["starts_at"]), _parse(episode["ends_at"])
    entity = (
        (pl.col("consumer_id") == episode["consumer_id"])
        if episode["consumer_id"]
        else (pl.col("client_ip") == episode["client_ip"])
    )
    calls = log.filter(entity & pl.col("t").is_between(start, end))
    if episode["dataset_id"]:
        calls = calls.filter(pl.col("dataset_id") == episode["dataset_id"])
    return calls


def _episodes(platform, kind: str) -> list[dict]:
    rows = [json.loads(line) for line in platform.episodes_path.open(encoding="utf-8")]
    return [row for row in rows if row["episode_type"] == kind]


def test_malicious_episodes_show_their_pattern(log, platform):
    for episode in _episodes(platform, "scraping"):
        calls = _episode_calls(log, episode)
        offsets = (
            calls["params"].struct.field("offset") if "offset" in calls["params"].struct.fields else None
        )
        walked = max(calls["page"].n_unique(), offsets.n_unique() if offsets is not None else 0)
        assert walked >= 250, episode
    for episode in _episodes(platform, "burst"):
        calls = _episode_calls(log, episode)
        start = _parse(episode["starts_at"])
        before = log.filter(
            (pl.col("consumer_id") == episode["consumer_id"])
            & pl.col("t").is_between(start - timedelta(days=14), start, closed="left")
        )
        hourly = before.group_by(pl.col("t").dt.truncate("1h")).len()["len"].mean()
        peak = calls.group_by(pl.col("t").dt.truncate("1h")).len()["len"].max()
        assert peak >= 10 * hourly, episode
    for episode in _episodes(platform, "key_sharing"):
        calls = log.filter(
            (pl.col("key_id") == episode["key_id"])
            & pl.col("t").is_between(_parse(episode["starts_at"]), _parse(episode["ends_at"]))
        )
        nets16 = calls["client_ip"].str.replace(r"\.\d+\.\d+$", "").n_unique()
        assert calls["client_ip"].str.replace(r"\.\d+$", "").n_unique() >= 5 and nets16 >= 5
    for episode in _episodes(platform, "probing"):
        calls = _episode_calls(log, episode)
        assert calls["status"].is_in([401, 403, 404]).mean() >= 0.5 and calls["dataset_id"].n_unique() >= 10
        assert (
            calls["params"].struct.field("q").is_not_null().any()
            or calls["params"].struct.field("filter").is_not_null().any()
        )
    for episode in _episodes(platform, "off_hours_bulk"):
        calls = _episode_calls(log, episode)
        assert calls["rows"].sum() >= 1_000_000
        assert (calls["t"].dt.hour() < 6).all() or is_statutory_holiday(calls["t"].dt.date()[0])
    for episode in _episodes(platform, "sybil_harvest"):
        calls = _episode_calls(log, episode)
        ranges = calls.group_by("consumer_id").agg(
            pl.col("page").min().alias("lo"), pl.col("page").max().alias("hi")
        )
        assert 3 <= ranges.height <= 6
        spans = sorted(ranges.select("lo", "hi").rows())
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    for episode in _episodes(platform, "ml_outlier"):
        calls = _episode_calls(log, episode)
        others = log.filter(
            (pl.col("consumer_id") == episode["consumer_id"])
            & ~pl.col("event_id").is_in(calls["event_id"].implode())
        )
        unusual = calls.filter(~pl.col("user_agent").is_in(others["user_agent"].unique().implode()))
        assert unusual.height >= 10 and unusual["user_agent"].n_unique() == 1
        assert unusual["endpoint"].n_unique() >= 5 and unusual["dataset_id"].n_unique() >= 3
        assert unusual["bytes"].median() >= 10 * others.filter(pl.col("channel") == "api")["bytes"].median()
        assert (unusual["latency_ms"] > 2000).mean() >= 0.4


def test_agreement_episodes_break_their_agreement(log, reference, platform):
    agreements = {(a["consumer_id"], a["dataset_id"]): a for a in reference["agreements"]}
    for episode in _episodes(platform, "no_agreement"):
        assert (episode["consumer_id"], episode["dataset_id"]) not in agreements
        assert _episode_calls(log, episode).height > 0
    for kind, broken in (
        (
            "outside_validity",
            lambda c, a: (
                ~pl.col("t")
                .dt.date()
                .is_between(date.fromisoformat(a["valid_from"]), date.fromisoformat(a["valid_to"]))
            ),
        ),
        (
            "fields_outside_agreement",
            lambda c, a: pl.col("fields").list.set_difference(pl.lit(a["allowed_fields"])).list.len() > 0,
        ),
        ("scenario_mismatch", lambda c, a: ~pl.col("scenario").is_in(a["scenarios"])),
        (
            "ip_outside_allowlist",
            lambda c, a: pl.col("client_ip").map_elements(
                lambda ip: not _ip_allowed(ip, a["ip_allowlist"]), return_dtype=pl.Boolean
            ),
        ),
    ):
        for episode in _episodes(platform, kind):
            agreement = agreements[(episode["consumer_id"], episode["dataset_id"])]
            calls = _episode_calls(log, episode)
            assert calls.filter(broken(calls, agreement)).height >= 2, (kind, episode)
    for episode in _episodes(platform, "quota_exceeded"):
        agreement = agreements[(episode["consumer_id"], episode["dataset_id"])]
        calls = _episode_calls(log, episode)
        assert (
            calls.height > agreement["daily_call_quota"] or calls["rows"].sum() > agreement["daily_row_quota"]
        )


def test_suspension_and_report_episodes_match_the_reference_data(log, reference, platform):
    for episode in _episodes(platform, "suspended_dataset"):
        calls = _episode_calls(log, episode)
        complaint = next(c for c in reference["complaints"] if c["dataset_id"] == episode["dataset_id"])
        assert calls.height > 0
        assert (
            calls["t"].is_between(_parse(complaint["suspended_at"]), _parse(complaint["resolved_at"])).all()
        )
    overdue = [
        r
        for r in reference["usage_reports"]
        if date.fromisoformat(r["due_date"]) < UNTIL
        and (r["filed_at"] is None or _parse(r["filed_at"]).date() > date.fromisoformat(r["due_date"]))
    ]
    labelled = {(e["consumer_id"], e["dataset_id"]) for e in _episodes(platform, "report_overdue")}
    assert {(r["consumer_id"], r["dataset_id"]) for r in overdue} == labelled
    assert len(overdue) == len(labelled) >= 8


CATALOG_ROWS = """
SELECT * EXCEPT updated_at FROM datasets FINAL ORDER BY dataset_id
"""


def test_the_catalog_export_loads_through_the_aliases_as_the_same_catalog(platform, client, settings):
    from ingest.reference import load_reference_dir, load_reference_file

    export = platform.export_dir / "开放数据目录.csv"
    header = export.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("数据集编号,版本号,数据集名称,数据提供单位") and "开放属性" in header
    assert "无条件开放" in export.read_text(encoding="utf-8-sig")
    load_reference_file(client, "agencies", platform.reference_dir / "agencies.jsonl")
    results = load_reference_dir(client, platform.export_dir)           # no mapping file
    (report,) = results["datasets"].files
    assert report.found_by == "columns" and report.rejected == 0 and report.unmapped_values == {}
    assert {p.how for p in report.columns} == {"alias"}
    assert results["datasets"].corrected["agency_id was an agency's name: its id used"] == report.loaded
    from_export = client.query(CATALOG_ROWS).result_rows

    contract = settings.model_copy(update={"clickhouse_database": settings.clickhouse_database + "_contract"})
    from warehouse import connect

    other = connect(contract)
    load_reference_file(other, "datasets", platform.reference_dir / "datasets.jsonl")
    assert from_export == other.query(CATALOG_ROWS).result_rows and len(from_export) > 200


# ---- build_demo: the platform loaded through the user's own ingest path ------------------------------------

EPISODES_BY_TYPE = """
SELECT episode_type, count() FROM demo_episodes FINAL GROUP BY episode_type
"""
WALL_CLOCK = """
SELECT formatDateTime(ts, '%Y-%m-%dT%H:%i:%S', 'Asia/Shanghai'), consumer_id, rows
FROM access_log WHERE event_id = {event_id:String}
"""
REFERENCE_COUNTS = """
SELECT (SELECT count() FROM agencies FINAL), (SELECT count() FROM datasets FINAL),
       (SELECT count() FROM consumers FINAL), (SELECT count() FROM agreements FINAL),
       (SELECT count() FROM usage_reports FINAL WHERE filed_at IS NULL AND due_date < {until:Date})
"""


def test_build_demo_ingests_every_line_and_stores_the_ground_truth(client, settings):
    summary = build_demo(client, settings, scale="small", seed=7, until=UNTIL)

    assert summary.ingest["read"] == summary.events > 30_000
    assert summary.ingest["rejected"] == 0, summary.ingest["rejected_by_reason"]
    assert summary.ingest["inserted"] == summary.events
    rejected = {table: result["reasons"] for table, result in summary.reference.items() if result["rejected"]}
    assert rejected == {}
    assert client.command("SELECT count() FROM access_log") == summary.events

    stored = dict(client.query(EPISODES_BY_TYPE).result_rows)
    assert stored == summary.episodes_by_type and set(stored) == set(EPISODE_TYPES)
    # Misuse of every alert category, and every benign look-alike kind, is labelled.
    assert set(ALERT_CATEGORIES) <= set(stored) and {"benign.crawler", "benign.health_check"} <= set(stored)
    assert min(n for kind, n in stored.items() if not kind.startswith("benign.")) >= 8

    # A line read back from the warehouse keeps its Shanghai wall-clock time.
    first = json.loads((summary.out_dir / "logs" / "access_log_001.jsonl").open(encoding="utf-8").readline())
    ts, consumer, rows = client.query(WALL_CLOCK, parameters={"event_id": first["event_id"]}).result_rows[0]
    assert ts == first["ts"][:19] and consumer == first["consumer_id"] and rows == first["rows"]

    agencies, datasets, consumers, agreements, unfiled = client.query(
        REFERENCE_COUNTS, parameters={"until": UNTIL}
    ).result_rows[0]
    assert agencies == 50 and datasets > 200 and consumers > 250 and agreements > 100
    # The catalog also came in as a platform's Chinese-header export, through the built-in aliases.
    export = summary.reference["datasets ← 开放数据目录.csv"]
    assert (export["loaded"], export["rejected"]) == (datasets, 0)
    assert export["files"][0]["found_by"] == "columns"
    assert 0 < unfiled <= stored["report_overdue"]


def test_build_demo_refuses_a_warehouse_holding_other_traffic(client, settings):
    client.insert(
        "access_log",
        [["real-gateway-1", "c1", "ds1"]],
        column_names=["event_id", "consumer_id", "dataset_id"],
    )
    with pytest.raises(UserError, match="not part of this demo"):
        build_demo(client, settings, scale="small", seed=7, until=UNTIL)
    assert client.command("SELECT count() FROM access_log") == 1
    assert client.command("SELECT count() FROM demo_episodes") == 0
