"""Each reader on real-shaped samples: JSONL (also gzip, CRLF, BOM), CSV, Parquet, nginx/Apache logs."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import readers
from ingest.loader import ingest_paths
from ingest.readers import Limits, ReadOptions, detect_format, read_chunks
from tests.ingest_helpers import event, line, write_lines

NGINX = [
    '203.0.113.7 - - [27/Nov/2026:09:15:02 +0800] '
    '"GET /open/datasets/DS001/download?page=2&size=100 HTTP/1.1" 200 53211 '
    '"https://data.sh.gov.cn/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"',
    '2408:8207:1851::25 - - [27/Nov/2026:09:15:03 +0800] "POST /api/login HTTP/2.0" 401 - "-" "curl/8.5.0"',
    '203.0.113.7 - - [27/Nov/2026:09:15:04 +0800] "GET /robots.txt HTTP/1.1" 200 64 "-" "Googlebot/2.1"',
    '203.0.113.7 - - [27/Nov/2026:09:15:04 +0800] "GET /robots.txt HTTP/1.1" 200 64 "-" "Googlebot/2.1"',
    "this is not a web log line",
    '198.51.100.9 - alice [27/Nov/2026:01:15:04 +0000] "GET /api/v1/datasets HTTP/1.1" 200 1043',
    '198.51.100.10 - - [27/Nov/2026:09:16:00 +0800] "GET /a HTTP/1.1" 304 0 "-" "okhttp/4.12" 0.004 "-"',
]


def rows(client, sql):
    return client.query(sql).result_rows


def test_jsonl_chunks_keep_line_numbers_across_chunk_boundaries(tmp_path):
    path = write_lines(tmp_path / "a.jsonl", [line(event(n)) for n in range(10)])
    chunks = list(read_chunks(path, "jsonl", 3))
    assert [(c.first_line, len(c)) for c in chunks] == [(1, 3), (4, 3), (7, 3), (10, 1)]
    assert b"".join(c.text for c in chunks) == path.read_bytes()
    assert len({c.digest for c in chunks}) == 4


def test_a_jsonl_chunk_as_rows_for_a_staging_table(tmp_path):
    # What a ClickHouse server gets (it cannot read this machine's chunk files).
    path = write_lines(tmp_path / "a.jsonl", [line(event(n)) for n in range(5)])
    second = list(read_chunks(path, "jsonl", 3))[1]
    table = second.table().to_pylist()
    assert [(r["line_no"], r["line"], r["raw"], r["problem"]) for r in table] == [
        (4, line(event(3)), b"", ""), (5, line(event(4)), b"", "")]


def test_an_overlong_line_is_cut_and_the_rest_of_the_file_still_read(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BLOCK_BYTES", 256)
    body = [line(event(1)), b'{"event_id": "' + b"x" * 5000 + b'"}', line(event(2)), line(event(3))]
    path = write_lines(tmp_path / "long.jsonl", body)
    chunks = list(read_chunks(path, "jsonl", 2, ReadOptions(limits=Limits(max_line_bytes=1000))))
    rows = [row for chunk in chunks for row in chunk.table().to_pylist()]
    assert [row["line_no"] for row in rows] == [1, 2, 3, 4] and sum(len(c) for c in chunks) == 4
    assert rows[1]["problem"] == "line longer than 1000 bytes"
    assert rows[1]["raw"] == b'{"event_id": "' + b"x" * (readers.PREVIEW_BYTES - 14)   # its start is kept
    assert [rows[0]["line"], rows[2]["line"], rows[3]["line"]] == [line(event(n)) for n in (1, 2, 3)]


def test_jsonl_gzip_crlf_bom_and_no_final_newline(client, settings, tmp_path):
    body = b"\xef\xbb\xbf" + b"\r\n".join(line(event(n)) for n in range(5))   # no newline at the end
    path = tmp_path / "gateway.jsonl.gz"
    path.write_bytes(gzip.compress(body))
    assert detect_format(path) == "jsonl"
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (5, 5, 0), summary.rejected_by_reason
    assert rows(client, "SELECT count() FROM access_log WHERE event_id = 'evt-000004'") == [(1,)]


def test_csv_with_json_cells_quoted_commas_and_bad_rows(client, settings, tmp_path):
    header = ("event_id,ts,consumer_id,key_id,dataset_id,channel,endpoint,method,status,latency_ms,rows,"
              "bytes,fields,scenario,client_ip,user_agent,params")
    good = ('c-1,2026-11-20T10:00:00+08:00,C0001,ak_1,DS001,api,/api/v1/datasets/DS001/rows,GET,200,35,100,'
            '2048,"[""name"",""address""]",traffic_planning,10.1.2.3,"Mozilla/5.0 (X11, Linux)",'
            '"{""page"": 3, ""page_size"": 100}"')
    epoch = "c-2,1763604000000,,,DS002,download,/dl/DS002.csv,GET,200,12,5000,99999,,,2001:db8::1,curl/8.5.0,"
    short = "c-3,2026-11-20T10:00:00+08:00,C0001"
    bad_status = "c-4,2026-11-20T10:00:00+08:00,C1,,DS1,api,/x,GET,abc,1,1,1,[],,10.0.0.1,ua,{}"
    path = tmp_path / "export.csv"
    path.write_bytes(("\n".join([header, good, epoch, short, bad_status]) + "\n").encode() + b"c-5,\xff\n")
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (5, 2, 3), summary.rejected_by_reason
    stored = rows(client, "SELECT event_id, fields, params, user_agent, consumer_id, channel FROM access_log "
                          "ORDER BY event_id")
    assert stored[0] == ("c-1", ["name", "address"], '{"page":3,"page_size":100}', "Mozilla/5.0 (X11, Linux)",
                         "C0001", "api")
    assert stored[1][:2] == ("c-2", []) and stored[1][4:] == ("", "download")
    rejected = dict(rows(client, "SELECT line_no, reason FROM rejected_rows FINAL"))
    assert rejected[4] == "row has 3 cells, the header has 17"
    assert rejected[5] == 'status "abc" is not a whole number'
    assert rejected[6] == "the line is not valid UTF-8 text"
    raw = rows(client, "SELECT raw FROM rejected_rows FINAL WHERE line_no = 4")
    assert raw == [(short,)]


def test_parquet_with_list_and_timestamp_columns(client, settings, tmp_path):
    table = pa.table({
        "event_id": ["p-1", "p-2", "p-3"],
        "ts": pa.array([1_763_604_000_000, 1_763_604_060_000, 1_763_604_120_000], pa.timestamp("ms", "UTC")),
        "consumer_id": ["C1", "", "C2"],
        "dataset_id": ["DS1", "DS1", "DS2"],
        "channel": ["api", "api", "teleport"],
        "status": pa.array([200, 404, 200], pa.int32()),
        "rows": pa.array([10, 0, 5], pa.int64()),
        "fields": pa.array([["name"], [], None], pa.list_(pa.string())),
        "client_ip": ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
        "params": ['{"page": 1}', None, "{}"],
    })
    path = tmp_path / "part-0001.parquet"
    pq.write_table(table, path)
    assert detect_format(path) == "parquet"
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    stored = rows(client, "SELECT event_id, formatDateTime(ts, '%F %T', 'Asia/Shanghai'), fields, params "
                          "FROM access_log ORDER BY event_id")
    assert stored == [("p-1", "2025-11-20 10:00:00", ["name"], '{"page":1}'),
                      ("p-2", "2025-11-20 10:01:00", [], "{}")]
    assert summary.rejected_by_reason == {"bad channel": 1}


def test_combined_web_log_lines(client, settings, tmp_path):
    path = tmp_path / "access.log"
    path.write_text("\n".join(NGINX) + "\n", encoding="utf-8")
    assert detect_format(path) == "combined"
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (7, 6, 0, 1)
    stored = rows(client, """
        SELECT client_ip, formatDateTime(ts, '%F %T', 'Asia/Shanghai'), method, endpoint, status, bytes,
               user_agent, params, channel, consumer_id, dataset_id
        FROM access_log ORDER BY ts, client_ip
    """)
    assert stored[0] == ("203.0.113.7", "2026-11-27 09:15:02", "GET", "/open/datasets/DS001/download", 200,
                         53211, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", '{"page":"2","size":"100"}',
                         "web", "", "")
    assert stored[1][:6] == ("2408:8207:1851::25", "2026-11-27 09:15:03", "POST", "/api/login", 401, 0)
    # Two identical requests in the same second are two events, and stay two on a re-run.
    assert [r[0] for r in stored].count("203.0.113.7") == 3
    assert ("198.51.100.9", "2026-11-27 09:15:04") in [r[:2] for r in stored]   # common format, UTC
    again = ingest_paths(client, [path], settings=settings)
    assert (again.inserted, again.duplicates) == (0, 7)
    reason = rows(client, "SELECT line_no, raw, reason FROM rejected_rows FINAL")
    assert reason == [(5, "this is not a web log line", "not a combined or common log format line")]


@pytest.mark.parametrize("name, content, expected", [
    ("x.ndjson", b"{}", "jsonl"),
    ("export.CSV", b"event_id,ts\n", "csv"),
    ("gateway.log", b'{"event_id": "a"}\n', "jsonl"),
    ("gateway.log", NGINX[0].encode() + b"\n", "combined"),
    ("dump", b"event_id,ts,status\n", "csv"),
])
def test_format_detection(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert detect_format(path) == expected


def test_an_unknown_format_is_a_plain_sentence(tmp_path):
    from odwatch.errors import UserError

    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(UserError, match="--format"):
        detect_format(path)
    json.dumps({})
