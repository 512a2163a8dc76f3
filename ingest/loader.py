"""Loading access-log files: chunks through the engine, a batch ledger, dedupe on event_id.

Each chunk of lines is one batch, named by its source, position and the SHA-256 of its
content. A parser thread on its own connection reads the next chunk (the embedded engine
reads it from a chunk file; a server gets it through a staging table) and parses and
validates all its lines in one query (ingest.validate.PARSE_LINES) into a buffer table,
while the caller's connection stores the current one: duplicates found by an anti-join
against `seen_events` (and within the chunk), valid rows to `access_log`, bad ones to
`rejected_rows`, and the ledger row marked done.

Rejected lines are stored verbatim up to `ingest_rejects_stored_per_reason` per file and rule
(the ledger records each batch's share, so a re-run stores what one clean run would); the
rest are counted. A file that is not in the contract's names is mapped on the way
(ingest.mapping); a dry run reads, parses and counts everything and stores nothing.

A batch the ledger shows as started but never finished (the process was killed)
is taken back out before it is loaded again: its rows are deleted and the usage
aggregates of the days it touched are rebuilt from `access_log`, so a killed run
followed by a re-run ends with exactly the rows of one clean run. A batch already
done is skipped and its lines are counted as duplicates: re-ingesting adds nothing.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clickhouse_connect.driver.client import Client

from ingest.contract import ACCESS_LOG
from ingest.mapping import FileReport, LogMapper, Mapping, plan_columns, vocabulary
from ingest.readers import (
    Chunk,
    Limits,
    ReadOptions,
    check_encoding,
    detect_encoding,
    detect_format,
    file_columns,
    read_chunks,
)
from ingest.validate import (
    FILE_LINES,
    MAX_LINE_BYTES,
    PARSE_LINES,
    PARSED_COLUMNS,
    REASON,
    STAGE_COLUMNS,
    STAGED_LINES,
)
from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings
from warehouse.client import connect, is_embedded
from warehouse.rollups import rollup_writes

STAGE = "ingest_stage"
PARSED = "{parsed}"  # one of the two buffer tables of a run (see _Parser)
REPEATS = "ingest_repeats"

CREATE_STAGE = f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ({STAGE_COLUMNS}) ENGINE = Memory"
CREATE_BUFFER = f"CREATE TABLE {{table}} ({PARSED_COLUMNS}) ENGINE = Memory"
BUFFER_PREFIX = "ingest_buffer_"
STALE_BUFFERS = f"""
SELECT name FROM system.tables
WHERE database = currentDatabase() AND startsWith(name, '{BUFFER_PREFIX}')
"""
CREATE_REPEATS = f"CREATE TEMPORARY TABLE IF NOT EXISTS {REPEATS} (line_no UInt64) ENGINE = Memory"

BATCH_STATE = """
SELECT status, lines_read, mapKeys(rejects_stored), mapValues(rejects_stored)
FROM ingest_batches FINAL
WHERE batch_id = {batch_id:String}
"""

RECORD_BATCH = """
INSERT INTO ingest_batches (batch_id, source, source_sha256, chunk_index, format, status, started_at,
                            finished_at, lines_read, inserted, duplicates, rejected, rejects_stored,
                            updated_at)
VALUES ({batch_id:String}, {source:String}, {digest:String}, {chunk_index:UInt32}, {format:String},
        {status:String}, {started_at:DateTime64(3)}, {finished_at:Nullable(DateTime64(3))},
        {lines_read:UInt64}, {inserted:UInt64}, {duplicates:UInt64}, {rejected:UInt64},
        mapFromArrays({stored_rules:Array(String)}, {stored_counts:Array(UInt64)}), now64(3))
"""

# Valid lines whose event_id is already stored, or appeared earlier in this chunk.
FIND_REPEATS = f"""
INSERT INTO {REPEATS}
SELECT line_no
FROM {PARSED}
WHERE rule = ''
  AND (event_key IN (
           SELECT event_key FROM seen_events
           WHERE event_key IN (SELECT event_key FROM {PARSED} WHERE rule = ''))
       OR line_no NOT IN (SELECT min(line_no) FROM {PARSED} WHERE rule = '' GROUP BY event_key))
"""

INSERT_ROWS = f"""
INSERT INTO access_log (event_id, ts, consumer_id, key_id, dataset_id, channel, endpoint, method, status,
                        latency_ms, rows, bytes, fields, scenario, client_ip, user_agent, params, batch_id)
SELECT event_id, ts, consumer_id, key_id, dataset_id, channel, endpoint, method, status,
       latency_ms, rows, bytes, fields, scenario, client_ip, user_agent, params, {{batch_id:String}}
FROM {PARSED}
WHERE rule = '' AND line_no NOT IN (SELECT line_no FROM {REPEATS})
SETTINGS parallel_view_processing = 1, optimize_on_insert = 0
"""

REMEMBER_EVENTS = f"""
INSERT INTO seen_events (event_key, batch_id)
SELECT event_key, {{batch_id:String}}
FROM {PARSED}
WHERE rule = '' AND line_no NOT IN (SELECT line_no FROM {REPEATS})
"""

# The first lines of each rule in the file are stored, up to the cap; `stored_*` is what earlier
# batches of the file stored. A line too long is stored by its start.
INSERT_REJECTED = f"""
INSERT INTO rejected_rows (batch_id, source, line_no, raw, reason)
WITH (x -> if(lengthUTF8(x) > 60, concat(substringUTF8(x, 1, 60), '…'), x)) AS cut
SELECT {{batch_id:String}}, {{source:String}}, line_no,
       if(rule = 'line too long' AND length(kept) > 1024, concat(substring(kept, 1, 1024), '…'), kept),
       {REASON}
FROM (SELECT line_no, line, problem, rule, trim(TRAILING '\\r\\n' FROM if(raw = '', line, raw)) AS kept,
             row_number() OVER (PARTITION BY rule ORDER BY line_no) AS nth
      FROM {PARSED}
      WHERE rule != '')
WHERE nth + arrayElement({{stored_counts:Array(UInt64)}}, indexOf({{stored_rules:Array(String)}}, rule))
      <= {{cap:UInt64}}
"""

CHUNK_COUNTS = f"""
SELECT rule, count() FROM {PARSED} GROUP BY rule
UNION ALL
SELECT '(repeat)', count() FROM {REPEATS}
"""

# --- taking a killed batch back out ---

BATCH_DAYS = f"SELECT DISTINCT toDate(ts) FROM {PARSED} WHERE rule = ''"
DELETE_BATCH_ROWS = """
ALTER TABLE {table:Identifier} DELETE WHERE batch_id = {batch_id:String}
SETTINGS mutations_sync = 2
"""
ACCESS_LOG_VIEWS = """
SELECT name, as_select, create_table_query
FROM system.tables
WHERE database = currentDatabase() AND engine = 'MaterializedView'
  AND name IN (SELECT arrayJoin(dependencies_table) FROM system.tables
               WHERE database = currentDatabase() AND name = 'access_log')
"""
TABLE_COLUMNS = """
SELECT name, type FROM system.columns
WHERE database = currentDatabase() AND table = {table:String}
ORDER BY position
"""
DELETE_MONTHS = """
ALTER TABLE {table:Identifier} DELETE WHERE toStartOfMonth({column:Identifier}) IN {months:Array(Date)}
SETTINGS mutations_sync = 2
"""


@dataclass
class IngestSummary:
    """What an ingest did (or, in a dry run, would do); `read == inserted + duplicates + rejected` always."""

    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rejected_not_stored: int = 0     # rejected lines past the cap per file and reason: counted only
    defaulted: dict[str, int] = field(default_factory=dict)
    stopped: list[dict] = field(default_factory=list)   # files a limit or damage stopped: source, line, why
    elapsed_s: float = 0.0
    rows_per_s: float = 0.0
    files: list[str] = field(default_factory=list)
    dry_run: bool = False
    file_reports: list[FileReport] = field(default_factory=list)

    def add(self, read: int, inserted: int, duplicates: int, rejected: Counter,
            report: FileReport | None = None) -> None:
        self.read += read
        self.inserted += inserted
        self.duplicates += duplicates
        self.rejected += sum(rejected.values())
        for rule, count in rejected.items():
            self.rejected_by_reason[rule] = self.rejected_by_reason.get(rule, 0) + count
        if report is not None:
            report.read += read
            report.loaded += inserted
            report.duplicates += duplicates
            report.rejected += sum(rejected.values())
            for rule, count in rejected.items():
                report.count("reasons", rule, count)

    def finish(self, started: float) -> IngestSummary:
        self.elapsed_s = round(time.perf_counter() - started, 3)
        self.rows_per_s = round(self.read / self.elapsed_s, 1) if self.elapsed_s > 0 else 0.0
        for report in self.file_reports:
            for column, count in report.defaulted.items():
                self.defaulted[column] = self.defaulted.get(column, 0) + count
        return self

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ChunkReport:
    """One stored batch: lines first_line .. first_line + lines - 1 of source."""

    source: str
    first_line: int
    lines: int
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    already_loaded: bool = False
    stopped: str = ""


@dataclass
class _Source:
    """One file to load: where it is, how to read it, and its report."""

    source: str
    path: Path
    fmt: str
    options: ReadOptions
    report: FileReport
    reading: str = ""      # the encoding and mapping its lines are read with, unless plain UTF-8


def plan_file(path: Path, fmt: str | None, mapping: Mapping | None, encoding: str | None,
              limits: Limits) -> _Source:
    """How to read one access-log file: its format, encoding and, unless it is in the contract's own
    names, the mapping of its records."""
    fmt = fmt or detect_format(path)
    encoding = encoding or detect_encoding(path)
    report = FileReport(str(path), ACCESS_LOG, "", fmt, encoding)
    options = ReadOptions(limits=limits, encoding=encoding)
    reading = "" if encoding == "utf-8" else encoding
    if fmt != "combined":
        vocab = vocabulary(ACCESS_LOG, mapping.table(ACCESS_LOG) if mapping else None)
        plan = plan_columns(ACCESS_LOG, file_columns(path, fmt, encoding), vocab)
        report.use_plan(plan)
        if not plan.identity:
            options.convert = LogMapper(plan, report)
            reading = f"{encoding} {plan.fingerprint}"
    return _Source(str(path.resolve()), path, fmt, options, report, reading)


def ingest_paths(
    client: Client,
    paths: list[Path],
    fmt: str | None = None,
    *,
    settings: Settings | None = None,
    progress: bool = False,
    on_chunk: Callable[[ChunkReport], None] | None = None,
    mapping: Mapping | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
) -> IngestSummary:
    """Load access-log files (JSONL, CSV, Parquet or combined web logs) into `access_log`.

    `progress` shows a bar (for a terminal); `on_chunk` hears about every batch once stored.
    `mapping` (and the built-in aliases) put a file in other names onto the contract; `dry_run`
    reads, parses and counts every line and stores nothing.
    """
    settings = settings or get_settings()
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.is_dir():
            raise UserError(f"{path} is a folder: name the files in it (for example {path}/*.log).")
        if not path.is_file():
            raise UserError(f"No such file: {path}")
    encoding = check_encoding(encoding)
    limits = Limits.from_settings(settings)
    sources = [plan_file(path, fmt, mapping, encoding, limits) for path in paths]
    started = time.perf_counter()
    summary = IngestSummary(files=[str(p) for p in paths], dry_run=dry_run,
                            file_reports=[s.report for s in sources])
    client.command(CREATE_REPEATS)
    store = _Store(client, settings, summary, {s.source: s.report for s in sources}, dry_run)
    parser = _Parser(client, settings, sources)
    try:
        with _progress_bar(progress, sum(p.stat().st_size for p in paths)) as advance:
            for parsed in parser:
                report = store(parsed)
                parser.release(parsed.buffer)
                advance(parsed.chunk.size)
                if on_chunk is not None:
                    on_chunk(report)
    finally:
        parser.close()
    return summary.finish(started)


@contextmanager
def _staged(client: Client, chunk: Chunk) -> Iterator[str]:
    """The query that yields the chunk's lines to the engine.

    The embedded engine reads a JSONL chunk straight from a file (a memory-backed one when
    /dev/shm exists): cheaper than sending it as Arrow. Otherwise the lines go into a
    session-scoped staging table.
    """
    if chunk.path is None:
        client.insert_arrow(STAGE, chunk.table())
        yield STAGED_LINES.format(table=STAGE)
        return
    try:
        yield FILE_LINES.format(first=chunk.first_line, path=str(chunk.path).replace("'", "\\'"))
    finally:
        chunk.discard()


def spill_directory(settings: Settings) -> Path | None:
    """Where the embedded engine can read chunk files from; None for a ClickHouse server."""
    if not is_embedded(settings):
        return None
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = shm
    else:
        folder = (settings.data_dir / "tmp").resolve()
        folder.mkdir(parents=True, exist_ok=True)
    _remove_orphans(folder)
    return folder


def _remove_orphans(folder: Path) -> None:
    """Chunk files left by a killed ingest (their process is gone) would hold memory in /dev/shm."""
    for path in folder.glob("odwatch-chunk-*.jsonl"):
        pid = path.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def batch_id_for(source: str, chunk: Chunk, reading: str = "") -> str:
    """A batch is this content at this place in this source, read this way: the same file again is
    skipped, a copy elsewhere is checked line by line (its events are duplicates, its bad lines are
    rejected for it too), and so is the same file under another mapping or encoding (lines the
    old one rejected may load now)."""
    key = f"{source}\n{chunk.index}\n{chunk.digest}" + (f"\n{reading}" if reading else "")
    return hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass
class _Parsed:
    """A chunk the parser has read and checked against the ledger (and parsed unless done)."""

    source: str
    fmt: str
    chunk: Chunk
    batch_id: str
    status: str | None        # the ledger's state of this batch before this run
    buffer: str | None        # the table holding its parsed lines
    stored_before: Counter = field(default_factory=Counter)   # rejected lines a done batch stored, by rule


class _Store:
    """Stores parsed batches in order: duplicates found, rows and rejects inserted, the ledger updated.
    In a dry run, only counts."""

    def __init__(self, client: Client, settings: Settings, summary: IngestSummary,
                 reports: dict[str, FileReport], dry_run: bool) -> None:
        self.client = client
        self.summary = summary
        self.reports = reports
        self.dry_run = dry_run
        self.cap = max(0, settings.ingest_rejects_stored_per_reason)
        self.max_line = str(Limits.from_settings(settings).max_line_bytes)
        self.stored: dict[str, Counter] = {}     # per source: rejected lines stored so far, by rule

    def __call__(self, parsed: _Parsed) -> ChunkReport:
        chunk = parsed.chunk
        report = ChunkReport(parsed.source, chunk.first_line, len(chunk), stopped=chunk.stopped)
        file_report = self.reports[parsed.source]
        stored = self.stored.setdefault(parsed.source, Counter())
        if chunk.stopped:
            file_report.stopped = chunk.stopped
            self.summary.stopped.append({"source": parsed.source, "line": chunk.first_line,
                                         "reason": chunk.stopped})
        if parsed.status == "done":
            stored.update(parsed.stored_before)
            self.summary.add(len(chunk), 0, len(chunk), Counter(), file_report)
            report.duplicates, report.already_loaded = len(chunk), True
            return report
        inserted, repeats, rejected = self._count(parsed) if self.dry_run else self._store(parsed, stored)
        self.summary.add(len(chunk), inserted, repeats, rejected, file_report)
        report.inserted, report.duplicates, report.rejected = inserted, repeats, sum(rejected.values())
        return report

    def _run(self, sql: str, parsed: _Parsed, **params) -> None:
        sql = sql.replace("{parsed}", parsed.buffer).replace(MAX_LINE_BYTES, self.max_line)
        self.client.command(sql, parameters=params or None)

    def _counts(self, parsed: _Parsed) -> tuple[int, int, Counter]:
        self.client.command(f"TRUNCATE TABLE {REPEATS}")
        self._run(FIND_REPEATS, parsed)
        counts = dict(self.client.query(CHUNK_COUNTS.replace("{parsed}", parsed.buffer)).result_rows)
        repeats = counts.pop("(repeat)", 0)
        valid = counts.pop("", 0)
        return valid - repeats, repeats, Counter(counts)

    def _count(self, parsed: _Parsed) -> tuple[int, int, Counter]:
        """A dry run: what storing the batch would do (duplicates of events already stored)."""
        return self._counts(parsed)

    def _store(self, parsed: _Parsed, stored: Counter) -> tuple[int, int, Counter]:
        chunk = parsed.chunk
        ledger = {
            "batch_id": parsed.batch_id,
            "source": parsed.source,
            "digest": chunk.digest,
            "chunk_index": chunk.index,
            "format": parsed.fmt,
            "started_at": clock.now(),
            "finished_at": None,
            "lines_read": len(chunk),
            "inserted": 0,
            "duplicates": 0,
            "rejected": 0,
            "stored_rules": [],
            "stored_counts": [],
        }
        self.client.command(RECORD_BATCH, parameters={**ledger, "status": "running"})
        if parsed.status == "running":
            _take_back(self.client, parsed.batch_id, parsed.buffer)
        inserted, repeats, rejected = self._counts(parsed)
        with rollup_writes:   # not while the consumer kinds are being rebuilt (warehouse/rollups.py)
            self._run(INSERT_ROWS, parsed, batch_id=parsed.batch_id)
        self._run(REMEMBER_EVENTS, parsed, batch_id=parsed.batch_id)
        if rejected:    # most batches of a gateway's log have none: no query for them
            rules = sorted(stored)
            self._run(INSERT_REJECTED, parsed, batch_id=parsed.batch_id, source=parsed.source, cap=self.cap,
                      stored_rules=rules, stored_counts=[stored[rule] for rule in rules])
        kept = Counter({rule: min(count, max(0, self.cap - stored[rule]))
                        for rule, count in rejected.items()})
        stored.update(kept)
        self.summary.rejected_not_stored += sum(rejected.values()) - sum(kept.values())
        self.client.command(
            RECORD_BATCH,
            parameters={
                **ledger,
                "status": "done",
                "finished_at": clock.now(),
                "inserted": inserted,
                "duplicates": repeats,
                "rejected": sum(rejected.values()),
                "stored_rules": list(kept),
                "stored_counts": list(kept.values()),
            },
        )
        return inserted, repeats, rejected


def _take_back(client: Client, batch_id: str, buffer: str) -> None:
    """Remove what a killed run stored for this batch and rebuild the aggregates it touched."""
    days = [row[0] for row in client.query(BATCH_DAYS.replace("{parsed}", buffer)).result_rows]
    for table in ("access_log", "seen_events", "rejected_rows"):
        client.command(DELETE_BATCH_ROWS, parameters={"table": table, "batch_id": batch_id})
    if not days:
        return
    months = sorted({day.replace(day=1) for day in days})
    for _name, as_select, create_query in client.query(ACCESS_LOG_VIEWS).result_rows:
        target = re.search(r"\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?", create_query)
        if not target:
            continue
        columns = client.query(TABLE_COLUMNS, parameters={"table": target.group(1)}).result_rows
        time_column = next((name for name, kind in columns if kind.startswith("Date")), None)
        if time_column is None:
            continue
        # The view's own query, limited to the touched months, recomputes exactly what it holds.
        # Whole months, because some views keep one row per month (visitor_presence).
        client.command(
            DELETE_MONTHS, parameters={"table": target.group(1), "column": time_column, "months": months}
        )
        names = ", ".join(f"`{name}`" for name, _ in columns)
        client.command(
            f"INSERT INTO `{target.group(1)}` ({names}) SELECT {names} FROM ({as_select}) "
            f"WHERE toStartOfMonth(`{time_column}`) IN {{months:Array(Date)}}",
            parameters={"months": months},
        )


class _Parser:
    """Reads, checks and parses chunks one ahead of the one being stored.

    A thread with its own connection reads the next chunk, asks the ledger about it and
    parses it into one of two buffer tables while the caller's connection stores the
    current one: parsing and storing run side by side. Duplicates are still found in
    order, by the storing side.
    """

    _END = object()

    def __init__(self, client: Client, settings: Settings, sources: list[_Source]) -> None:
        self.client = client
        token = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.buffers = [f"{BUFFER_PREFIX}{token}_{n}" for n in (0, 1)]
        if is_embedded(settings):
            _drop_stale_buffers(client)
        for table in self.buffers:
            client.command(CREATE_BUFFER.format(table=table))
        self.free: queue.Queue = queue.Queue()
        for table in self.buffers:
            self.free.put(table)
        self.ready: queue.Queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        worker_settings = settings.model_copy(update={"clickhouse_database": client.database
                                                      or settings.clickhouse_database})
        self.thread = threading.Thread(target=self._run, args=(worker_settings, sources), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings, sources: list[_Source]) -> None:
        try:
            worker = connect(settings)
            worker.command(CREATE_STAGE)
            spill_dir = spill_directory(settings)
            parse = PARSE_LINES.replace(MAX_LINE_BYTES, str(Limits.from_settings(settings).max_line_bytes))
            for item in sources:
                chunks = read_chunks(item.path, item.fmt, max(1, settings.ingest_chunk_lines), item.options)
                for chunk in chunks:
                    parsed = self._parse(worker, item, chunk, spill_dir, parse)
                    if parsed is None or not self._hand_over(parsed):
                        return
            self._hand_over(self._END)
        except BaseException as exc:  # noqa: BLE001 - handed to the storing thread
            self._hand_over(exc)

    def _parse(self, worker: Client, item: _Source, chunk: Chunk,
               spill_dir: Path | None, parse: str) -> _Parsed | None:
        source, fmt = item.source, item.fmt
        batch_id = batch_id_for(source, chunk, item.reading)
        state = worker.query(BATCH_STATE, parameters={"batch_id": batch_id}).result_rows
        status = state[0][0] if state else None
        if status == "done":
            stored = Counter(dict(zip(state[0][2], state[0][3], strict=True)))
            return _Parsed(source, fmt, chunk, batch_id, status, None, stored)
        buffer = self._take_buffer()
        if buffer is None:
            return None
        if spill_dir is not None and chunk.text is not None:
            chunk.spill(spill_dir)
        worker.command(f"TRUNCATE TABLE {buffer}")
        worker.command(f"TRUNCATE TABLE {STAGE}")
        with _staged(worker, chunk) as lines:
            worker.command(parse.replace("{parsed}", buffer).replace("{lines}", lines))
        chunk.text = chunk.records = None  # parsed: the text is no longer needed
        return _Parsed(source, fmt, chunk, batch_id, status, buffer)

    def _take_buffer(self) -> str | None:
        while not self.stopping.is_set():
            try:
                return self.free.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _hand_over(self, item: object) -> bool:
        while not self.stopping.is_set():
            try:
                self.ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def release(self, buffer: str | None) -> None:
        if buffer is not None:
            self.free.put(buffer)

    def __iter__(self) -> Iterator[_Parsed]:
        while True:
            item = self.ready.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        while not self.ready.empty():
            item = self.ready.get_nowait()
            if isinstance(item, _Parsed):
                item.chunk.discard()
        for table in self.buffers:
            self.client.command(f"DROP TABLE IF EXISTS {table}")


def _drop_stale_buffers(client: Client) -> None:
    """Buffer tables of an ingest that was killed (its process is gone)."""
    for (name,) in client.query(STALE_BUFFERS).result_rows:
        pid = name.removeprefix(BUFFER_PREFIX).split("_")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            client.command(f"DROP TABLE IF EXISTS {name}")


class _NoProgress:
    def __enter__(self):
        return lambda _n: None

    def __exit__(self, *exc) -> None:
        return None


class _RichProgress:
    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn()
        )
        self.total = total

    def __enter__(self):
        self.progress.__enter__()
        task = self.progress.add_task("ingest", total=self.total)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)


def _progress_bar(show: bool, total: int):
    return _RichProgress(total) if show else _NoProgress()
