"""Validation of access-log lines in the engine: every bad line rejected with a reason a person
understands, and `read = inserted + duplicates + rejected` for any mix of lines."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from ingest_helpers import event, line, write_lines

from ingest.loader import ingest_paths

BAD_LINES = [
    (b"", "empty line", "empty line"),
    (b"   \r", "empty line", "empty line"),
    (b'{"event_id": "x", "ts": ', "malformed JSON", "truncated or malformed JSON"),
    (line(event(1))[:-1] + b"\x00}", "NUL byte", "NUL byte"),
    (b'{"event_id": "caf\xe9"}', "not UTF-8", "not valid UTF-8"),
    (b"[1, 2, 3]", "not a JSON object", "not a JSON object"),
    (line(event(2, event_id=...)), "event_id missing", "event_id is missing"),
    (line(event(3, ts=...)), "ts missing", "ts is missing"),
    (line(event(4, ts="yesterday")), "ts invalid", 'ts "yesterday" is not an RFC 3339 time'),
    (line(event(5, ts="2026-02-30T10:00:00")), "ts invalid", "is not an RFC 3339 time"),
    (line(event(6, ts=1_764_000_000)), "ts out of range", "looks like epoch seconds"),
    (line(event(7, ts="2099-01-01T00:00:00Z")), "ts out of range", "in the future"),
    (line(event(8, channel="ftp")), "bad channel", 'channel "ftp" is not one of api, download, web'),
    (line(event(9, method="GE T")), "bad method", 'method "GE T" is not an HTTP method'),
    (line(event(10, status=700)), "status out of range", "status 700 is not an HTTP status (100–599)"),
    (line(event(11, status="ok")), "status not a whole number", 'status "ok" is not a whole number'),
    (line(event(12, status=...)), "status missing", "status is missing"),
    (line(event(13, latency_ms=12.5)), "not a whole number", "latency_ms 12.5 is not a whole number"),
    (line(event(21, rows="", bytes="many")), "not a whole number", 'bytes "many" is not a whole number'),
    (line(event(14, bytes=-5)), "negative number", "bytes -5 must not be negative"),
    (line(event(15, fields="name")), "bad fields", "fields must be an array of text values"),
    (line(event(16, fields=[{"name": "x"}])), "bad fields", "fields must be an array of text values"),
    (line(event(17, client_ip="10.0.0.300")), "bad client_ip", '"10.0.0.300" is not an IPv4 or IPv6'),
    (line(event(18, client_ip=...)), "client_ip missing", "client_ip is missing"),
    (line(event(19, params=[1, 2])), "bad params", "params must be a JSON object"),
    (line(event(20, consumer_id={"id": 1})), "field not text", "consumer_id must be text"),
]


def test_each_bad_line_is_rejected_with_its_reason(client, settings, tmp_path):
    lines = [bad for bad, _, _ in BAD_LINES]
    path = write_lines(tmp_path / "bad.jsonl", lines)
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (len(lines), 0, 0,
                                                                                       len(lines))
    stored = client.query("SELECT line_no, reason, raw FROM rejected_rows FINAL ORDER BY line_no").result_rows
    assert [row[0] for row in stored] == list(range(1, len(lines) + 1))
    for (bad, rule, reason), (_, stored_reason, _raw) in zip(BAD_LINES, stored, strict=True):
        assert reason in stored_reason, (bad, stored_reason)
        assert summary.rejected_by_reason.get(rule, 0) >= 1, rule
    assert stored[2][2] == '{"event_id": "x", "ts": '  # the raw text is kept as it came


def test_an_optional_number_written_null_empty_or_dash_takes_its_default(client, settings, tmp_path):
    lines = [
        line(event(1, latency_ms=None, rows="", bytes="-")),
        line(event(2, latency_ms=" ", rows=None, bytes="")),
    ]
    summary = ingest_paths(client, [write_lines(tmp_path / "blanks.jsonl", lines)], settings=settings)
    assert (summary.inserted, summary.rejected) == (2, 0), summary.rejected_by_reason
    stored = client.query("SELECT latency_ms, rows, bytes FROM access_log ORDER BY event_id").result_rows
    assert stored == [(0, 0, 0), (0, 0, 0)]


def test_valid_variants_are_accepted_and_stored_in_shanghai_time(client, settings, tmp_path):
    lines = [
        line(event(1, ts="2026-11-02T01:30:00Z")),                 # UTC offset
        line(event(2, ts="2026-11-02 09:30:00")),                  # no offset: Shanghai time
        line(event(3, ts=1_793_583_000_000)),                      # epoch ms = 2026-11-02 09:30 +08
        line(event(4, client_ip="2408:8207:1851::1", status="404", channel="download")),
        line(event(5, fields=[], params=..., method=..., user_agent=...)),
        line(event(6, status=304.0, rows="20")),                   # whole numbers as 304.0 and "20"
        line(event(7, method="track")),                             # an extension method (Nikto sends it)
    ]
    path = write_lines(tmp_path / "good.jsonl", lines)
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.inserted, summary.rejected) == (7, 0), summary.rejected_by_reason
    rows = dict(client.query("""
        SELECT event_id, formatDateTime(ts, '%F %T', 'Asia/Shanghai') FROM access_log
    """).result_rows)
    assert rows["evt-000001"] == rows["evt-000002"] == rows["evt-000003"] == "2026-11-02 09:30:00"
    ipv6 = client.query("SELECT client_ip, status, params FROM access_log WHERE event_id = 'evt-000004'")
    assert ipv6.result_rows == [("2408:8207:1851::1", 404, '{"page":5,"page_size":100}')]
    empty = client.query("SELECT fields, params, method FROM access_log WHERE event_id = 'evt-000005'")
    assert empty.result_rows == [([], "{}", "")]
    numbers = client.query("SELECT status, rows FROM access_log WHERE event_id = 'evt-000006'")
    assert numbers.result_rows == [(304, 20)]


BAD_KINDS = {
    "empty": b"",
    "nul": b'{"event_id": "z\x00"}',
    "utf8": b'{"event_id": "\xff\xfe"}',
    "truncated": b'{"event_id": "t", "ts": "2026-11-01T00:00',
    "status": line(event(0, event_id="bad-status", status=700)),
    "ip": line(event(0, event_id="bad-ip", client_ip="999.1.1.1")),
    "bytes": line(event(0, event_id="bad-bytes", bytes=-1)),
}

mix = st.lists(
    st.one_of(
        st.tuples(st.just("good"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("bad"), st.sampled_from(sorted(BAD_KINDS))),
    ),
    min_size=1, max_size=60,
)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=mix, chunk_lines=st.integers(min_value=1, max_value=25))
def test_every_line_is_accounted_for(client, settings, tmp_path_factory, items, chunk_lines):
    folder = tmp_path_factory.mktemp("mix")
    # Ids unique to this example, so earlier examples in the same database are not duplicates.
    tag = folder.name
    lines = [line(event(n, event_id=f"{tag}-{n}")) if kind == "good" else BAD_KINDS[n]
             for kind, n in items]
    path = write_lines(folder / "mix.jsonl", lines)
    before = client.query("SELECT count() FROM access_log").result_rows[0][0]
    chunked = settings.model_copy(update={"ingest_chunk_lines": chunk_lines})
    summary = ingest_paths(client, [path], settings=chunked)
    good = [n for kind, n in items if kind == "good"]
    assert summary.read == len(lines)
    assert summary.read == summary.inserted + summary.duplicates + summary.rejected
    assert summary.inserted == len(set(good))
    assert summary.duplicates == len(good) - len(set(good))
    assert summary.rejected == len(lines) - len(good)
    assert sum(summary.rejected_by_reason.values()) == summary.rejected
    after = client.query("SELECT count() FROM access_log").result_rows[0][0]
    assert after - before == summary.inserted
    stored = client.query("SELECT count() FROM rejected_rows FINAL WHERE source = {s:String}",
                          parameters={"s": str(path.resolve())}).result_rows[0][0]
    assert stored == summary.rejected
    json.dumps(summary.as_dict())
