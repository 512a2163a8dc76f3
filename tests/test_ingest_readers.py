"""Each reader on real-shaped samples: JSONL (also gzip, CRLF, BOM), CSV, Parquet, nginx/Apache logs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import event, line, write_lines

from ingest import readers
from ingest.loader import ingest_paths
from ingest.readers import Limits, ReadOptions, detect_format, read_chunks
from odwatch.errors import UserError

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


def test_apache_vhost_combined_lines_read_as_combined(client, settings, tmp_path):
    path = tmp_path / "vhost.log"
    path.write_text(
        'data.example.gov.cn:443 203.0.113.9 - - [27/Nov/2026:10:00:01 +0800] '
        '"GET /open/DS001?page=3 HTTP/1.1" 200 5321 "-" "python-requests/2.32"\n'
        'data.example.gov.cn:80 2408:8207::1 - - [27/Nov/2026:10:00:02 +0800] '
        '"GET /robots.txt HTTP/1.1" 404 - "-" "Googlebot/2.1"\n'
        'data.example.gov.cn:443 203.0.113.9 - - [27/Nov/2026:10:00:03 +0800] "GET /open/DS001?page=4\n',
        encoding="utf-8",
    )
    assert detect_format(path) == "combined"
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.inserted, summary.rejected) == (2, 1)
    assert summary.rejected_by_reason == {"truncated line": 1}
    stored = rows(client, "SELECT client_ip, endpoint, params, status FROM access_log ORDER BY ts")
    assert stored == [("203.0.113.9", "/open/DS001", '{"page":"3"}', 200),
                      ("2408:8207::1", "/robots.txt", "{}", 404)]


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
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(UserError, match="--format"):
        detect_format(path)
    json.dumps({})


# --- a platform's own logs ------------------------------------------------------------------------

WEB = Path(__file__).parent / "fixtures" / "web"


def test_a_real_combined_log_keeps_identical_requests_wherever_they_stand(client, settings):
    path = WEB / "access.log"     # 17 lines; the last one cut off mid user agent, no final newline
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (17, 16, 0, 1)
    probes = rows(client, "SELECT event_id FROM access_log WHERE endpoint = '/healthz' ORDER BY event_id")
    robots = rows(client, "SELECT count() FROM access_log WHERE endpoint = '/robots.txt'")
    page1 = rows(client, "SELECT count() FROM access_log "
                         "WHERE client_ip = '203.0.113.99' AND params = '{\"page\":\"1\"}'")
    # Identical lines, none of them next to each other (one written a second late): three events,
    # told apart by their count among identical lines of that second.
    assert [p[0].rsplit("-", 1)[1] for p in probes] == ["1", "2", "3"]
    assert robots == [(2,)] and page1 == [(3,)]
    assert rows(client, "SELECT line_no, reason FROM rejected_rows FINAL") == [(17, "truncated line")]
    quoted = rows(client, "SELECT user_agent, params FROM access_log WHERE endpoint = '/search'")
    assert quoted == [('Mozilla/5.0 "quoted" agent', '{"q":"\\"bus\\""}')]     # q is "bus", quoted
    again = ingest_paths(client, [path], settings=settings)
    assert (again.inserted, again.duplicates) == (0, 17)
    assert rows(client, "SELECT count() FROM access_log") == [(16,)]


def test_an_nginx_json_log_loads_through_the_aliases(client, settings):
    summary = ingest_paths(client, [WEB / "nginx_json.log"], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (4, 3, 1)
    assert summary.rejected_by_reason == {"bad client_ip": 1} and summary.defaulted == {"channel": 4}
    stored = rows(client, """
        SELECT event_id, formatDateTime(ts, '%F %T', 'Asia/Shanghai'), method, endpoint, params, status,
               bytes, latency_ms, channel, user_agent
        FROM access_log ORDER BY ts LIMIT 1
    """)
    assert stored == [("7f1c2a9e4b", "2026-11-27 09:20:00", "GET", "/api/v1/datasets/SH-A-00001/rows",
                       '{"page":"3","page_size":"100"}', 200, 20480, 35, "web", "python-requests/2.31.0")]


GATEWAY_CSV = "\n".join([
    "请求ID,请求时间,用户编号,密钥,数据集编号,调用方式,接口地址,请求方法,状态码,耗时(毫秒),返回条数,字节数,"
    "请求字段,应用场景,客户端IP,用户代理,请求参数",
    "r-1,2026/11/27 09:30:00,C0001,ak_1,DS001,接口,/api/v1/datasets/DS001/rows,GET,200,35,100,20480,"
    "企业名称、注册地址,交通规划,10.1.2.3,okhttp/4.12,page=2&size=100",
    "r-2,2026/11/27 09:30:01,,,DS002,下载,/dl/DS002.csv,GET,200,12,5000,99999,,,2001:db8::1,curl/8.5.0,",
    "r-3,2026/11/27 09:30:02,C0002,ak_2,DS001,推送,/x,GET,200,1,1,1,,,10.0.0.1,ua,",
]) + "\n"


def test_a_gateway_csv_with_chinese_headers_in_gbk_loads_through_the_aliases(client, settings, tmp_path):
    path = tmp_path / "网关日志.csv"
    path.write_bytes(GATEWAY_CSV.encode("gbk"))
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (3, 2, 1)
    (report,) = summary.file_reports
    assert report.encoding == "gb18030" and report.unmapped_values == {"channel": {"推送": 1}}
    stored = rows(client, """
        SELECT event_id, formatDateTime(ts, '%F %T', 'Asia/Shanghai'), channel, fields, scenario, params, rows
        FROM access_log ORDER BY event_id
    """)
    assert stored == [("r-1", "2026-11-27 09:30:00", "api", ["企业名称", "注册地址"], "交通规划",
                       '{"page":"2","size":"100"}', 100),
                      ("r-2", "2026-11-27 09:30:01", "download", [], "", "{}", 5000)]
    reason = rows(client, "SELECT reason FROM rejected_rows FINAL")
    assert reason == [('channel "推送" is not one of api, download, web',)]


def test_a_file_read_again_under_a_new_mapping_loads_the_lines_the_old_reading_rejected(client, settings,
                                                                                         tmp_path):
    from ingest.mapping import parse_mapping

    path = tmp_path / "网关日志.csv"
    path.write_bytes(GATEWAY_CSV.encode("gbk"))
    assert ingest_paths(client, [path], settings=settings).rejected == 1      # channel "推送"
    mapping = parse_mapping('[access_log.values.channel]\n"推送" = "api"\n', "mapping.toml")
    fixed = ingest_paths(client, [path], settings=settings, mapping=mapping)
    assert (fixed.read, fixed.inserted, fixed.duplicates, fixed.rejected) == (3, 1, 2, 0)
    again = ingest_paths(client, [path], settings=settings, mapping=mapping)
    assert (again.inserted, again.duplicates) == (0, 3)                        # the same reading: skipped
    assert rows(client, "SELECT count() FROM access_log") == [(3,)]


def test_a_gateway_csv_with_a_title_line_above_its_header_loads(client, settings, tmp_path):
    path = tmp_path / "网关日志.csv"
    path.write_bytes(("网关调用日志导出（2026年11月27日）\n" + GATEWAY_CSV).encode("gbk"))
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (4, 2, 2)
    assert summary.rejected_by_reason == {"title line": 1, "bad channel": 1}


def test_a_folder_given_as_a_log_is_a_sentence_that_says_so(client, settings, tmp_path):
    with pytest.raises(UserError, match=r"is a folder: name the files in it"):
        ingest_paths(client, [tmp_path], settings=settings)


def test_a_log_without_request_ids_gets_ids_from_its_lines(client, settings, tmp_path):
    line_a = {"timestamp": "2026-11-27T10:00:00+08:00", "ip": "10.0.0.1", "url": "/a?x=1", "status": 200}
    line_b = {**line_a, "url": "/b"}
    path = write_lines(tmp_path / "app.log", [line(line_a), line(line_b), line(line_a)])
    summary = ingest_paths(client, [path], "jsonl", settings=settings)
    assert (summary.inserted, summary.duplicates) == (3, 0)
    assert summary.defaulted == {"event_id": 3, "channel": 3}
    ids = [r[0] for r in rows(client, "SELECT event_id FROM access_log WHERE endpoint = '/a' ORDER BY 1")]
    assert len(ids) == 2 and ids[0].startswith("log-") and ids[0][:-1] == ids[1][:-1]
    in_pairs = settings.model_copy(update={"ingest_chunk_lines": 2})
    again = ingest_paths(client, [path], "jsonl", settings=in_pairs)
    assert (again.inserted, again.duplicates) == (0, 3)     # other batches, the same ids


def test_a_csv_log_with_an_unclosed_quote_or_a_huge_cell_loses_only_that_line(client, settings, tmp_path):
    header = "event_id,ts,channel,status,client_ip,user_agent"
    rows_ = [f"q-{n},2026-11-20T10:00:{n % 60:02d}+08:00,api,200,10.0.0.{n % 250},ua{n}" for n in range(1000)]
    rows_[3] = 'q-3,2026-11-20T10:00:03+08:00,api,200,10.0.0.3,"Mozilla/5.0 (unclosed'
    rows_[10] = "q-10,2026-11-20T10:00:10+08:00,api,200,10.0.0.10," + "M" * 200_000   # over csv's field limit
    path = tmp_path / "gateway.csv"
    path.write_text(header + "\n" + "\n".join(rows_) + "\n", encoding="utf-8")
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (1000, 999, 1)
    assert summary.rejected_by_reason == {"unclosed quote": 1}
    assert rows(client, "SELECT line_no FROM rejected_rows FINAL") == [(5,)]
    assert rows(client, "SELECT length(user_agent) FROM access_log WHERE event_id = 'q-10'") == [(200_000,)]


# --- limits on hostile input ------------------------------------------------------------------------


def gzip_of(path: Path, head: bytes, filler: bytes, size: int) -> Path:
    """`head`, then `size` bytes of `filler`, gzip-compressed a block at a time (never all in memory)."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = filler * (1024 * 1024 // len(filler))
    with open(path, "wb") as out:
        out.write(packer.compress(head))
        for _ in range(size // len(block)):
            out.write(packer.compress(block))
        out.write(packer.flush())
    return path


def test_a_decompression_bomb_is_stopped_early_with_the_lines_before_it_accounted_for(client, settings,
                                                                                      tmp_path):
    head = b"".join(line(event(n)) + b"\n" for n in range(50))
    bomb = gzip_of(tmp_path / "gateway.jsonl.gz", head, b"\n", 512 * 1024 * 1024)   # 512 MiB of empty lines
    assert bomb.stat().st_size < 1024 * 1024
    good = write_lines(tmp_path / "next.jsonl", [line(event(n, event_id=f"after-{n}")) for n in range(5)])
    summary = ingest_paths(client, [bomb, good], settings=settings)
    assert summary.read == summary.inserted + summary.duplicates + summary.rejected
    assert summary.read < 2 * 1024 * 1024         # stopped within its first megabytes of content
    assert summary.inserted == 55                  # the lines before the bomb, and the next file
    (stop,) = summary.stopped
    assert "more than 100 times its compressed size" in stop["reason"]
    assert stop["source"] == str(bomb.resolve())
    assert summary.rejected_by_reason["file stopped"] == 1
    stored = rows(client, "SELECT count(), countIf(startsWith(reason, 'stopped:')) FROM rejected_rows FINAL")
    assert stored == [(settings.ingest_rejects_stored_per_reason + 1, 1)]     # bounded: a sample and the stop
    assert summary.rejected_not_stored == summary.rejected - stored[0][0]


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[: len(data) // 2], "stopped: the compressed data ends early (the file is cut off)"),
    (lambda data: data[: len(data) // 2] + bytes(4096) + data[len(data) // 2:],
     "stopped: the compressed data is damaged"),
])
def test_a_damaged_gzip_file_keeps_the_lines_before_the_damage(client, settings, tmp_path, damage, reason):
    whole = gzip.compress(b"".join(line(event(n)) + b"\n" for n in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(damage(whole))
    summary = ingest_paths(client, [path], settings=settings)
    (stop,) = summary.stopped
    assert reason in stop["reason"]
    assert summary.read == summary.inserted + summary.duplicates + summary.rejected
    assert summary.rejected_by_reason["file stopped"] == 1 and 0 < summary.inserted < 2000
    stopped_at = rows(client, "SELECT line_no FROM rejected_rows FINAL WHERE startsWith(reason, 'stopped:')")
    assert stopped_at == [(summary.read,)] == [(stop["line"],)]     # the last line counted


def test_a_line_longer_than_the_limit_gets_the_length_reason_however_valid(client, settings, tmp_path):
    huge = line(event(1, user_agent="A" * (50 * 1024 * 1024)))            # 50 MB of valid JSON
    long = line(event(2, user_agent="B" * (3 * 1024 * 1024)))             # within one read block
    path = write_lines(tmp_path / "long.jsonl", [line(event(0)), huge, long, line(event(3))])
    summary = ingest_paths(client, [path], settings=settings)
    assert (summary.read, summary.inserted, summary.rejected) == (4, 2, 2)
    assert summary.rejected_by_reason == {"line too long": 2}
    stored = rows(client, "SELECT line_no, reason, length(raw) FROM rejected_rows FINAL ORDER BY line_no")
    assert [r[:2] for r in stored] == [(2, "line longer than 1048576 bytes"),
                                       (3, "line longer than 1048576 bytes")]
    assert all(r[2] <= 1100 for r in stored)                              # only its start is kept
    shorter = settings.model_copy(update={"ingest_max_line_bytes": 300})
    other = write_lines(tmp_path / "other.jsonl", [line(event(4, user_agent="C" * 400))])
    assert ingest_paths(client, [other], settings=shorter).rejected_by_reason == {"line too long": 1}


def test_the_text_encoding_is_told_from_the_file(tmp_path):
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes("数据集名称,开放属性\n".encode() * 200 + b"\xff\xfe broken\n")     # one broken line
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("数据集名称,开放属性\n".encode("gbk") * 200)
    ascii_only = tmp_path / "plain.csv"
    ascii_only.write_bytes(b"event_id,ts\n")
    assert [readers.detect_encoding(p) for p in (utf8, gbk, ascii_only)] == ["utf-8", "gb18030", "utf-8"]
    assert readers.check_encoding("GBK") == "gb18030" and readers.check_encoding("utf8") == "utf-8"
    with pytest.raises(UserError, match="Unknown encoding"):
        readers.check_encoding("klingon")
