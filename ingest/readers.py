"""Readers: turn an access-log file into chunks of lines for validation in the engine.

Every reader yields `Chunk`s of at most `chunk_lines` lines. A chunk carries, per
line, the text the engine validates (a JSON object per line — JSONL passes its
lines through untouched, the other formats are converted), the source text kept
for a rejected line, its line number, and any problem the reader already found
(a CSV row with the wrong number of cells, a web-log line that does not parse).

Memory stays bounded: a chunk holds at most `chunk_lines` lines (JSONL chunks as
one bytes object, cut from blocks read from the file).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from odwatch.errors import UserError

if TYPE_CHECKING:  # pyarrow is imported where it is used: a JSONL ingest never needs it
    import pyarrow as pa

FORMATS = ("jsonl", "csv", "parquet", "combined")
BLOCK_BYTES = 16 * 1024 * 1024
# A chunk never holds more than this much text, however long its lines are.
MAX_CHUNK_BYTES = 96 * 1024 * 1024
# A line longer than this cannot be an access-log record; it is cut and then rejected.
MAX_LINE_BYTES = 1024 * 1024

INT_FIELDS = ("status", "latency_ms", "rows", "bytes")
JSON_FIELDS = ("fields", "params")


@dataclass
class Chunk:
    """Lines of one source, ready for the engine; `digest` identifies the chunk's content.

    JSONL chunks carry their text as read (`text`, every line ending in a newline);
    converted formats carry `records` (line_no, line, raw, problem).
    """

    index: int
    first_line: int
    count: int
    digest: str
    size: int                          # bytes of the source this chunk covers (for progress)
    text: bytes | None = None
    records: pa.Table | None = None
    path: Path | None = None           # JSONL text written to a file for the engine to read

    def __len__(self) -> int:
        return self.count

    def spill(self, folder: Path) -> None:
        """Move the text into a file in `folder` (the engine reads it from there)."""
        self.path = folder / f"odwatch-chunk-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"
        self.path.write_bytes(self.text)
        self.text = None

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def table(self) -> pa.Table:
        """The chunk as rows of (line_no, line, raw, problem)."""
        import pyarrow as pa

        if self.records is not None:
            return self.records
        lines = self.text.split(b"\n")[:-1]
        return pa.table({
            "line_no": pa.array(range(self.first_line, self.first_line + len(lines)), pa.uint64()),
            "line": pa.array(lines, pa.binary()),
            "raw": pa.array([b""] * len(lines), pa.binary()),
            "problem": pa.array([""] * len(lines), pa.string()),
        })


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _stem_suffix(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    return name.rsplit(".", 1)[-1] if "." in name else ""


_COMBINED = re.compile(
    r'^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r"(?P<status>\d{3}|-) (?P<bytes>\d+|-)"
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?: .*)?\s*$'
)


def detect_format(path: Path) -> str:
    """The format of a file, from its extension or else from its first bytes."""
    suffix = _stem_suffix(path)
    by_suffix = {
        "jsonl": "jsonl",
        "ndjson": "jsonl",
        "json": "jsonl",
        "csv": "csv",
        "parquet": "parquet",
        "pq": "parquet",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    with _open_binary(path) as handle:
        head = handle.read(64 * 1024)
    if head.startswith(b"PAR1"):
        return "parquet"
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first.startswith(b"{"):
        return "jsonl"
    text = first.decode("utf-8", "replace")
    if _COMBINED.match(text):
        return "combined"
    if "event_id" in text and "," in text:
        return "csv"
    raise UserError(f"Cannot tell the format of {path}; pass --format jsonl, csv, parquet or combined.")


def read_chunks(path: Path, fmt: str, chunk_lines: int) -> Iterator[Chunk]:
    """The chunks of one file in the given format."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    readers = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "combined": read_combined}
    return readers[fmt](path, chunk_lines)


# --- JSON Lines ----------------------------------------------------------------------------------


def _line_chunks(handle, chunk_lines: int) -> Iterator[bytes]:
    """The text of each chunk of `chunk_lines` whole lines; every line ends with a newline.

    Blocks are read and joined once per chunk, so memory is one chunk plus one block. A line
    longer than MAX_LINE_BYTES is cut to that length (it is then rejected) and its rest skipped.
    """
    pieces: list[bytes] = []
    lines = 0        # complete lines held in `pieces`
    partial = 0      # bytes after the last newline in `pieces`
    skipping = False
    while True:
        block = handle.read(BLOCK_BYTES)
        if not block:
            break
        if skipping:
            newline = block.find(b"\n")
            if newline < 0:
                continue
            block, skipping = block[newline + 1:], False
        pieces.append(block)
        newlines = block.count(b"\n")
        lines += newlines
        partial = len(block) - block.rfind(b"\n") - 1 if newlines else partial + len(block)
        while lines >= chunk_lines:
            text, rest = _take_lines(pieces, chunk_lines)
            yield text
            pieces, lines = ([rest] if rest else []), lines - chunk_lines
        if partial > MAX_LINE_BYTES:
            text = b"".join(pieces)
            cut = len(text) - partial
            head, text = text[cut:cut + MAX_LINE_BYTES] + b"\n", text[:cut]
            if text:
                yield from _split_count(text, chunk_lines)
            yield head
            pieces, lines, partial, skipping = [], 0, 0, True
    text = b"".join(pieces)
    if text:
        yield from _split_count(text if text.endswith(b"\n") else text + b"\n", chunk_lines)


def _take_lines(pieces: list[bytes], count: int) -> tuple[bytes, bytes]:
    """The first `count` lines of the joined pieces, and what follows them."""
    taken: list[bytes] = []
    for index, piece in enumerate(pieces):
        here = piece.count(b"\n") if index < len(pieces) - 1 else count
        if here < count:
            taken.append(piece)
            count -= here
            continue
        position = -1
        for _ in range(count):
            position = piece.find(b"\n", position + 1)
        taken.append(piece[:position + 1])
        rest = piece[position + 1:] + b"".join(pieces[index + 1:])
        return b"".join(taken), rest
    return b"".join(taken), b""


def _split_count(text: bytes, chunk_lines: int) -> Iterator[bytes]:
    pieces, lines = [text], text.count(b"\n")
    while lines > chunk_lines:
        head, rest = _take_lines(pieces, chunk_lines)
        yield head
        pieces, lines = [rest], lines - chunk_lines
    if pieces[0]:
        yield pieces[0]


def read_jsonl(path: Path, chunk_lines: int) -> Iterator[Chunk]:
    line_no = 1
    with _open_binary(path) as handle:
        for index, text in enumerate(_line_chunks(handle, chunk_lines)):
            if index == 0 and text.startswith(b"\xef\xbb\xbf"):
                text = text[3:]  # a UTF-8 byte-order mark is not part of the first line
            count = text.count(b"\n")
            yield Chunk(index=index, first_line=line_no, count=count,
                        digest=hashlib.sha256(text).hexdigest(), size=len(text), text=text)
            line_no += count


# --- records converted to JSON lines (CSV, Parquet, combined log) --------------------------------


class _Batch:
    """Collects converted records and cuts them into chunks."""

    def __init__(self) -> None:
        self.index = 0
        self.reset()

    def reset(self) -> None:
        self.line_nos: list[int] = []
        self.lines: list[bytes] = []
        self.raw: list[bytes] = []
        self.problems: list[str] = []
        self.digest = hashlib.sha256()
        self.size = 0

    def add(self, line_no: int, line: bytes, raw: bytes, problem: str = "") -> None:
        self.line_nos.append(line_no)
        self.lines.append(line)
        self.raw.append(raw)
        self.problems.append(problem)
        self.digest.update(raw or line)
        self.digest.update(b"\n")
        self.size += len(raw or line) + 1

    def __len__(self) -> int:
        return len(self.lines)

    def take(self) -> Chunk:
        import pyarrow as pa

        records = pa.table({
            "line_no": pa.array(self.line_nos, pa.uint64()),
            "line": pa.array(self.lines, pa.binary()),
            "raw": pa.array(self.raw, pa.binary()),
            "problem": pa.array(self.problems, pa.string()),
        })
        chunk = Chunk(index=self.index, first_line=self.line_nos[0], count=len(self.lines),
                      digest=self.digest.hexdigest(), size=self.size, records=records)
        self.index += 1
        self.reset()
        return chunk


def _dumps(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, default=_json_default).encode("utf-8")


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _cell(name: str, text: str) -> object:
    """A CSV cell as the JSON value the contract expects for its column."""
    if name in INT_FIELDS or name == "ts":
        stripped = text.strip()
        if re.fullmatch(r"-?\d+", stripped):
            return int(stripped)
        return text
    if name in JSON_FIELDS:
        if not text.strip():
            return [] if name == "fields" else {}
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _decoded_lines(handle, spans: list) -> Iterator[str]:
    """Text lines of a binary stream; records (line number, raw bytes, utf8 ok) in `spans`."""
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode("utf-8")
            good = True
        except UnicodeDecodeError:
            text = raw.decode("utf-8", "replace")
            good = False
        spans.append((number, raw, good))
        yield text


def read_csv(path: Path, chunk_lines: int) -> Iterator[Chunk]:
    batch = _Batch()
    with _open_binary(path) as handle:
        spans: list = []
        reader = csv.reader(_decoded_lines(handle, spans))
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip().lstrip("\ufeff") for name in header]
        spans.clear()
        for cells in reader:
            first = spans[0][0]
            raw = b"".join(span[1] for span in spans).rstrip(b"\r\n")
            utf8_ok = all(span[2] for span in spans)
            spans.clear()
            if not utf8_ok:
                batch.add(first, raw, raw)  # validation rejects it as invalid UTF-8
            elif not cells or all(not cell.strip() for cell in cells):
                batch.add(first, b"", raw if raw.strip() else b" ", "empty line")
            elif len(cells) != len(header):
                batch.add(first, b"", raw, f"row has {len(cells)} cells, the header has {len(header)}")
            else:
                record = {name: _cell(name, cell) for name, cell in zip(header, cells, strict=True)}
                batch.add(first, _dumps(record), raw)
            if len(batch) >= chunk_lines:
                yield batch.take()
    if len(batch):
        yield batch.take()


def _parquet_value(value: object) -> object:
    if isinstance(value, list) and value and isinstance(value[0], tuple) and len(value[0]) == 2:
        return {k: v for k, v in value}  # a Parquet MAP arrives as key/value pairs
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_parquet(path: Path, chunk_lines: int) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserError(f"{path} is not a readable Parquet file: {exc}") from exc
    batch = _Batch()
    row_no = 0
    for record_batch in parquet.iter_batches(batch_size=min(chunk_lines, 65_536)):
        for record in record_batch.to_pylist():
            row_no += 1
            line = _dumps(
                {name: _parquet_value(value) for name, value in record.items() if value is not None}
            )
            batch.add(row_no, line, b"")
            if len(batch) >= chunk_lines:
                yield batch.take()
    if len(batch):
        yield batch.take()


def _unescape(text: str | None) -> str:
    return (text or "").replace('\\"', '"').replace("\\\\", "\\")


def combined_record(text: str, occurrence: int) -> dict | None:
    """A combined (or common) log line as an access-log record; None when it does not parse."""
    match = _COMBINED.match(text)
    if not match:
        return None
    try:
        when = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return {"ts": match["time"]}  # validation names the bad time
    request = _unescape(match["request"]).split(" ")
    method, target = (request[0], request[1]) if len(request) >= 2 else ("", request[0])
    endpoint, _, query = target.partition("?")
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return {
        # A web log has no request id: the line's hash and its repeat count within the same
        # second make one that is stable across re-runs, so re-ingesting still dedupes.
        "event_id": f"web-{digest}-{occurrence}",
        "ts": when.isoformat(),
        "channel": "web",
        "method": method,
        "endpoint": endpoint,
        "status": int(match["status"]) if match["status"] != "-" else "-",
        "bytes": int(match["bytes"]) if match["bytes"] != "-" else 0,
        "client_ip": match["ip"],
        "user_agent": _unescape(match["agent"]),
        "params": dict(parse_qsl(query, keep_blank_values=True)),
    }


def read_combined(path: Path, chunk_lines: int) -> Iterator[Chunk]:
    batch = _Batch()
    seen: dict[str, int] = {}
    current_time = None
    with _open_binary(path) as handle:
        for line_no, raw in enumerate(handle, start=1):
            raw = raw.rstrip(b"\r\n")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                batch.add(line_no, raw, raw)  # validation rejects it as invalid UTF-8
                text = None
            if text is not None:
                if not text.strip() or "\x00" in text:
                    batch.add(line_no, raw, raw)  # validation names the problem
                else:
                    bracket = text.find("[")
                    stamp = text[bracket : bracket + 30]
                    if stamp != current_time:
                        current_time, seen = stamp, {}
                    seen[text] = seen.get(text, 0) + 1
                    record = combined_record(text, seen[text])
                    if record is None:
                        batch.add(line_no, b"", raw, "not a combined or common log format line")
                    else:
                        batch.add(line_no, _dumps(record), raw)
            if len(batch) >= chunk_lines:
                yield batch.take()
    if len(batch):
        yield batch.take()
