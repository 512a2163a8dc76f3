"""Loading: dedupe across files and runs, the batch ledger after SIGKILL, the spool."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from ingest_helpers import event, line, write_lines
from odwatch_processes import odwatch_env

from ingest.loader import ingest_paths
from ingest.spool import ingest_spool, pending_files

REPO = Path(__file__).resolve().parents[1]


def test_reingesting_a_file_adds_nothing_and_counts_every_line_as_duplicate(client, settings, tmp_path):
    lines = [line(event(n)) for n in range(30)] + [b"not json", line(event(3))]
    path = write_lines(tmp_path / "day1.jsonl", lines)
    small = settings.model_copy(update={"ingest_chunk_lines": 7})
    first = ingest_paths(client, [path], settings=small)
    assert (first.read, first.inserted, first.duplicates, first.rejected) == (32, 30, 1, 1)
    again = ingest_paths(client, [path], settings=small)
    assert (again.read, again.inserted, again.duplicates, again.rejected) == (32, 0, 32, 0)
    assert client.query("SELECT count(), uniqExact(event_id) FROM access_log").result_rows == [(30, 30)]
    assert client.query("SELECT count() FROM rejected_rows FINAL").result_rows == [(1,)]
    daily = client.query("SELECT sum(calls) FROM usage_daily").result_rows[0][0]
    assert daily == 30


def test_events_already_stored_from_another_file_are_duplicates(client, settings, tmp_path):
    one = write_lines(tmp_path / "one.jsonl", [line(event(n)) for n in range(10)])
    # A second gateway export overlapping the first, in another order, with new events.
    two = write_lines(tmp_path / "two.jsonl", [line(event(n)) for n in reversed(range(5, 15))])
    summary = ingest_paths(client, [one, two], settings=settings)
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (20, 15, 5, 0)
    assert client.query("SELECT count(), uniqExact(event_id) FROM access_log").result_rows == [(15, 15)]


DUMP = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from odwatch.settings import get_settings
    from warehouse import connect
    from ingest.loader import ingest_paths
    settings = get_settings()
    client = connect(settings)
    summary = ingest_paths(client, [Path(sys.argv[1])], settings=settings)
    def rows(sql):
        return [list(map(str, row)) for row in client.query(sql).result_rows]
    print(json.dumps({
        "summary": summary.as_dict(),
        "access_log": rows("SELECT * EXCEPT batch_id FROM access_log ORDER BY event_id"),
        "daily": rows("SELECT day, dataset_id, consumer_id, sum(calls), sum(rows), sum(bytes), "
                      "uniqMerge(ips) FROM usage_daily "
                      "GROUP BY day, dataset_id, consumer_id ORDER BY ALL"),
        "fields": rows("SELECT day, dataset_id, consumer_id, field, sum(calls) "
                       "FROM field_usage_channel_daily GROUP BY ALL ORDER BY ALL"),
        "rejected": rows("SELECT line_no, raw, reason FROM rejected_rows FINAL ORDER BY line_no"),
        "seen": rows("SELECT count(), uniqExact(event_key) FROM seen_events"),
    }))
""")


def _env(data_dir: Path, chunk_lines: int) -> dict:
    return odwatch_env(data_dir, ODWATCH_INGEST_CHUNK_LINES=str(chunk_lines))


def _ingest_and_dump(path: Path, data_dir: Path, chunk_lines: int) -> dict:
    done = subprocess.run([sys.executable, "-c", DUMP, str(path)], env=_env(data_dir, chunk_lines), cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_run_killed_midway_then_rerun_equals_one_clean_run(tmp_path):
    lines = [line(event(n)) for n in range(400)]
    lines[17] = b'{"event_id": "cut'                  # a bad line in the first chunk
    lines[250] = line(event(12))                       # a duplicate in a later chunk
    path = write_lines(tmp_path / "gateway.jsonl", lines)
    killed_dir = tmp_path / "killed"
    run = subprocess.Popen([sys.executable, "-m", "odwatch", "ingest", str(path)], env=_env(killed_dir, 20),
                           cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = run.stdout.readline()           # printed once the first batch is stored
    assert "lines 1-20" in first, first + run.stderr.read()
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL

    resumed = _ingest_and_dump(path, killed_dir, 20)
    clean = _ingest_and_dump(path, tmp_path / "clean", 20)
    assert (clean["summary"]["inserted"], clean["summary"]["duplicates"], clean["summary"]["rejected"]) == (
        398, 1, 1)
    assert resumed["summary"]["read"] == 400
    assert resumed["summary"]["duplicates"] >= 20          # the stored batches were skipped
    for table in ("access_log", "daily", "fields", "rejected", "seen"):
        assert resumed[table] == clean[table], table
    assert len(clean["access_log"]) == 398


def test_ingest_while_the_engine_is_held_goes_to_the_spool(client, settings, tmp_path):
    # This test process holds the session's engine, as `odwatch serve` would.
    path = write_lines(tmp_path / "late.jsonl", [line(event(n, event_id=f"spool-{n}")) for n in range(12)])
    done = subprocess.run([sys.executable, "-m", "odwatch", "ingest", str(path)],
                          env=_env(settings.data_dir, 1000), cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "spool" in done.stdout and "1 file(s)" in done.stdout
    waiting = pending_files(settings)
    assert len(waiting) == 1 and waiting[0].read_bytes() == path.read_bytes()

    summaries = ingest_spool(client, settings)
    assert [(s.read, s.inserted) for s in summaries] == [(12, 12)]
    assert pending_files(settings) == []
    assert (settings.spool_dir / "done" / waiting[0].name).is_file()
    spooled = client.query("SELECT count() FROM access_log WHERE startsWith(event_id, 'spool-')")
    assert spooled.result_rows == [(12,)]


def test_a_batch_left_running_is_taken_back_and_loaded_once(client, settings, tmp_path):
    # The state a SIGKILL leaves between storing a batch's rows and marking it done.
    lines = [line(event(n)) for n in range(40)] + [b"{oops"]
    path = write_lines(tmp_path / "gateway.jsonl", lines)
    small = settings.model_copy(update={"ingest_chunk_lines": 10})
    ingest_paths(client, [path], settings=small)
    totals = "SELECT (SELECT count() FROM access_log), (SELECT sum(calls) FROM usage_daily), " \
             "(SELECT sum(calls) FROM usage_hourly), (SELECT sum(calls) FROM field_usage_channel_daily), " \
             "(SELECT count() FROM seen_events), (SELECT count() FROM rejected_rows FINAL), " \
             "(SELECT sum(calls) FROM usage_daily_dataset), (SELECT sum(calls) FROM operation_daily), " \
             "(SELECT sum(calls) FROM field_usage_dataset_daily), " \
             "(SELECT count() FROM (SELECT DISTINCT dataset_id, visitor, arrayJoin(days) " \
             "                      FROM visitor_presence))"
    clean = client.query(totals).result_rows
    visitors = "SELECT DISTINCT dataset_id, if(consumer_id = '', client_ip, consumer_id), toDate(ts) " \
               "FROM access_log"
    presence = client.query(f"SELECT count() FROM ({visitors})").result_rows[0][0]
    assert clean == [(40, 40, 40, 80, 40, 1, 40, 40, 80, presence)]
    client.command("""
        INSERT INTO ingest_batches (batch_id, source, source_sha256, chunk_index, format, status, started_at,
                                    lines_read, updated_at)
        SELECT batch_id, source, source_sha256, chunk_index, format, 'running', now64(3), lines_read,
               now64(3)
        FROM ingest_batches FINAL WHERE chunk_index IN (1, 4)
    """)
    again = ingest_paths(client, [path], settings=small)
    # Batches 1 (ten events) and 4 (the bad line) load again; the other three are skipped.
    assert (again.read, again.inserted, again.duplicates, again.rejected) == (41, 10, 30, 1)
    assert client.query(totals).result_rows == clean
    status = client.query("SELECT groupUniqArray(status) FROM ingest_batches FINAL").result_rows
    assert status == [(["done"],)]


def test_rejected_lines_past_the_cap_are_counted_and_a_rerun_stores_what_one_clean_run_would(
        client, settings, tmp_path):
    lines = []
    for n in range(40):
        lines.append(line(event(n, channel="ftp")) if n % 2 else line(event(n)))    # 20 bad channels
    lines += [b"{oops", b"{oops"]
    path = write_lines(tmp_path / "gateway.jsonl", lines)
    capped = settings.model_copy(update={"ingest_chunk_lines": 6, "ingest_rejects_stored_per_reason": 4})
    summary = ingest_paths(client, [path], settings=capped)
    assert (summary.read, summary.inserted, summary.rejected) == (42, 20, 22)
    assert summary.rejected_by_reason == {"bad channel": 20, "malformed JSON": 2}
    assert summary.rejected_not_stored == 16
    stored = "SELECT line_no FROM rejected_rows FINAL ORDER BY line_no"
    clean = client.query(stored).result_rows
    assert clean == [(2,), (4,), (6,), (8,), (41,), (42,)]      # the first four of each rule: the sample
    ledger = client.query("SELECT sum(rejected), sumMap(rejects_stored) FROM ingest_batches FINAL")
    ledger = ledger.result_rows
    assert ledger == [(22, {"bad channel": 4, "malformed JSON": 2})]

    # A run killed after storing its first batch, then run again: the first batch's share of the cap
    # comes from the ledger, so the same rows are stored (not four more of each rule).
    client.command("""
        INSERT INTO ingest_batches (batch_id, source, source_sha256, chunk_index, format, status, started_at,
                                    lines_read, updated_at)
        SELECT batch_id, source, source_sha256, chunk_index, format, 'running', now64(3), lines_read, now64(3)
        FROM ingest_batches FINAL WHERE chunk_index >= 1
    """)
    again = ingest_paths(client, [path], settings=capped)
    assert again.read == 42 and again.duplicates >= 6
    assert client.query(stored).result_rows == clean


def test_a_dry_run_reads_and_checks_every_line_and_stores_nothing(client, settings, tmp_path):
    stored = write_lines(tmp_path / "stored.jsonl", [line(event(n)) for n in range(3)])
    ingest_paths(client, [stored], settings=settings)
    tables = ("SELECT (SELECT count() FROM access_log), (SELECT count() FROM ingest_batches FINAL), "
              "(SELECT count() FROM seen_events), (SELECT count() FROM rejected_rows)")
    before = client.query(tables).result_rows
    path = write_lines(tmp_path / "new.jsonl", [line(event(n)) for n in range(6)] + [b"{oops"])
    summary = ingest_paths(client, [path], settings=settings, dry_run=True)
    assert summary.dry_run
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (7, 3, 3, 1)
    assert client.query(tables).result_rows == before == [(3, 1, 3, 0)]
