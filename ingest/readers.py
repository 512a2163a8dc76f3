"""Readers: turn an access-log file into chunks of lines for validation in the engine.

Every reader yields `Chunk`s of at most `chunk_lines` lines. A chunk carries, per
line, the text the engine validates (a JSON object per line — JSONL in the contract's
own names passes its lines through untouched, everything else is converted), the
source text kept for a rejected line, its line number, and any problem the reader
already found (a CSV row with the wrong number of cells, a web-log line that does not
parse, a line longer than the limit).

Hostile input is bounded (`Limits`): a line longer than the limit is cut and rejected, a
compressed file that expands past its size or ratio limit and a file that cannot be read
on are stopped: the lines before are read as usual, then one last line says why the rest
was not read. Memory stays bounded: a chunk holds at most `chunk_lines` lines (JSONL
chunks as one bytes object, cut from blocks read from the file).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import json
import os
import re
import uuid
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qsl

from odwatch.errors import UserError

if TYPE_CHECKING:  # pyarrow is imported where it is used: a JSONL ingest never needs it
    import pyarrow as pa

    from odwatch.settings import Settings

FORMATS = ("jsonl", "csv", "parquet", "combined")
BLOCK_BYTES = 16 * 1024 * 1024
LINE_BLOCK_BYTES = 1024 * 1024
# A chunk never holds more than this much text, however long its lines are.
MAX_CHUNK_BYTES = 96 * 1024 * 1024
# How much of a line longer than the limit is kept with its rejection.
PREVIEW_BYTES = 1024
# Below this much output a compressed file is not judged by its expansion ratio: a small file
# of repetitive text compresses far better than any real log of that size.
RATIO_FLOOR_BYTES = 1024 * 1024

INT_FIELDS = ("status", "latency_ms", "rows", "bytes")
JSON_FIELDS = ("fields", "params")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Limits:
    """Per-file limits on hostile input (settings `ingest_max_*`)."""

    max_line_bytes: int = 1024 * 1024
    max_decompressed_bytes: int = 32 * 1024**3
    max_expansion_ratio: float = 100.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max(1, settings.ingest_max_line_bytes), max(1, settings.ingest_max_decompressed_bytes),
                   max(1.0, settings.ingest_max_expansion_ratio))


DEFAULT_LIMITS = Limits()


class SourceStopped(Exception):
    """Reading a file cannot go on (a limit, damaged data); the message says why, for a person."""


@dataclass
class ReadOptions:
    """How to read one file: its limits, its text encoding (None = detect), and for a file not in
    the contract's own names the mapping of its records (ingest.mapping.LogMapper)."""

    limits: Limits = DEFAULT_LIMITS
    encoding: str | None = None
    convert: Callable[[dict, bytes], dict] | None = None


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
    last_line: int = 0
    stopped: str = ""                  # the reason reading the file stopped here

    def __post_init__(self) -> None:
        self.last_line = self.last_line or self.first_line + self.count - 1

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


# --- opening a file: compressed input within its limits -----------------------------------------


class _Inflating:
    """A gzip file's content, read through `read(n)`; stops (SourceStopped) once the content grows
    past the size limit or past `ratio` times the compressed bytes consumed so far: a 2 MB file
    expanding to 2 GiB is stopped in its first megabytes, not after filling the disk. Content is
    inflated a piece at a time; the piece that crosses a limit is dropped, what came before it
    is returned, and the next read raises. (Inflated here rather than by the gzip module, whose
    read-ahead would hide how much compressed input the content came from.)"""

    PIECE = 1024 * 1024
    INPUT = 64 * 1024

    def __init__(self, path: Path, limits: Limits) -> None:
        self.raw = open(path, "rb")
        self.inflater = zlib.decompressobj(wbits=31)
        self.pending = b""     # compressed input not yet consumed
        self.consumed = 0
        self.limits = limits
        self.out = 0
        self.stop = ""

    def read(self, size: int) -> bytes:
        pieces: list[bytes] = []
        got = 0
        while got < size and not self.stop:
            piece = self._inflate(min(self.PIECE, size - got))
            if not piece:
                break
            self.out += len(piece)
            self.stop = self._over_limit()
            if not self.stop:
                pieces.append(piece)
                got += len(piece)
        if self.stop and not pieces:
            raise SourceStopped(self.stop)
        return b"".join(pieces)

    def _inflate(self, size: int) -> bytes:
        """Up to `size` bytes of content (b"" at the end, or when the data is damaged: `stop` says so)."""
        out: list[bytes] = []
        got = 0
        try:
            while got < size:
                if self.inflater.eof:            # the end of a gzip member; another may follow
                    rest = self.inflater.unused_data or self.raw.read(self.INPUT)
                    if not rest.strip(b"\0"):
                        break
                    self.inflater, self.pending = zlib.decompressobj(wbits=31), rest
                if not self.pending:
                    self.pending = self.raw.read(self.INPUT)
                    if not self.pending:
                        self.stop = ("stopped: the compressed data ends early (the file is cut off); "
                                     "the rest of the file was not read")
                        break
                data = self.inflater.decompress(self.pending, size - got)
                left = self.inflater.unused_data if self.inflater.eof else self.inflater.unconsumed_tail
                self.consumed += len(self.pending) - len(left)
                self.pending = b"" if self.inflater.eof else left
                out.append(data)
                got += len(data)
        except zlib.error as exc:
            self.stop = f"stopped: the compressed data is damaged ({exc}); the rest of the file was not read"
        return b"".join(out)

    def _over_limit(self) -> str:
        limits = self.limits
        if self.out > limits.max_decompressed_bytes:
            return (f"stopped: the file expands to more than {limits.max_decompressed_bytes:,} bytes "
                    "(limit ODWATCH_INGEST_MAX_DECOMPRESSED_BYTES); the rest of the file was not read")
        ratio = self.out / max(self.consumed, 1)
        if self.out > RATIO_FLOOR_BYTES and ratio > limits.max_expansion_ratio:
            return (f"stopped: the file expands to more than {limits.max_expansion_ratio:g} times its "
                    "compressed size (limit ODWATCH_INGEST_MAX_EXPANSION_RATIO), as a decompression bomb "
                    "does; the rest of the file was not read")
        return ""

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _Inflating:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(path: Path, limits: Limits = DEFAULT_LIMITS) -> BinaryIO | _Inflating:
    """A file for reading with `read(n)`: gzip (by its first bytes, whatever its name) inflated
    within the limits."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    return _Inflating(path, limits) if compressed else open(path, "rb")


def _stem_suffix(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    return name.rsplit(".", 1)[-1] if "." in name else ""


def _head(path: Path, size: int = 64 * 1024) -> bytes:
    try:
        with open_source(path, DEFAULT_LIMITS) as handle:
            return handle.read(size)
    except SourceStopped:
        return b""


# --- text encodings ---------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """utf-8 or gb18030 (which reads GBK and GB2312 too), from the first MiB of the file.

    UTF-8 text with a few broken bytes stays UTF-8 (those lines are rejected): GB18030 decodes
    almost any bytes, so reading such a file as GB18030 would garble every line instead.
    """
    head = _head(path, 1024 * 1024)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    broken = text.count("\ufffd")
    if broken <= max(0, sum(1 for ch in text if ord(ch) > 127) // 100):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        return "utf-8"   # not text in either: the lines are rejected one by one, with the reason


def check_encoding(name: str | None) -> str | None:
    """A user's --encoding, checked (GBK and GB2312 read as GB18030, their superset)."""
    if name is None:
        return None
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise UserError(f"Unknown encoding {name!r}; use utf-8 or gb18030 (for GBK files).") from None
    return "gb18030" if canonical in ("gbk", "gb2312") else canonical


def undecodable(encoding: str) -> str:
    """The reason for a line that is not text in the file's encoding."""
    name = {"utf-8": "UTF-8", "gb18030": "GB18030"}.get(encoding, encoding)
    return f"the line is not valid {name} text"


def _decoder(encoding: str) -> Callable[[bytes], str | None]:
    def decode(raw: bytes) -> str | None:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            return None
    return decode


# --- lines of bounded length --------------------------------------------------------------------


def bounded_lines(handle, max_bytes: int) -> Iterator[tuple[bytes, bool]]:
    """(line, too long) for each line of a stream, without its line end. A line longer than
    `max_bytes` comes back cut to a preview with True; the rest of it is skipped, never held."""
    rest = b""
    skipping = False
    while True:
        block = handle.read(LINE_BLOCK_BYTES)
        if not block:
            break
        if skipping:
            newline = block.find(b"\n")
            if newline < 0:
                continue
            block, skipping = block[newline + 1:], False
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        for line in lines:
            line = line.removesuffix(b"\r")
            if len(line) > max_bytes:
                yield line[:PREVIEW_BYTES], True
            else:
                yield line, False
        if len(rest) > max_bytes:
            yield rest[:PREVIEW_BYTES], True
            rest, skipping = b"", True
    rest = rest.removesuffix(b"\r")
    if rest:
        yield (rest[:PREVIEW_BYTES], True) if len(rest) > max_bytes else (rest, False)


def too_long(max_bytes: int) -> str:
    return f"line longer than {max_bytes} bytes"


@dataclass
class CsvRow:
    """One record of a CSV file: its first line's number, the source text, the cells (None when
    the record could not be read: `problem` says why)."""

    line_no: int
    raw: bytes
    cells: list[str] | None
    problem: str = ""


def csv_rows(handle, encoding: str, max_bytes: int) -> Iterator[CsvRow]:
    """The records of a CSV stream, header first; tab-separated when the header has more tabs than commas.

    A record is one line unless a quoted cell goes on over line ends. Such a record is accepted
    when its quotes close within `max_bytes` and it has the header's number of cells; otherwise
    its first line is rejected as an unclosed quote and reading goes on with the next line, so
    one stray quote costs one line, not the thousand after it.
    """
    csv.field_size_limit(max(csv.field_size_limit(), max_bytes + 1))
    decode = _decoder(encoding)
    source = enumerate(bounded_lines(handle, max_bytes), start=1)
    pushed: deque = deque()

    def take():
        return pushed.popleft() if pushed else next(source, None)

    dialect = {"delimiter": ","}
    width = None
    while (item := take()) is not None:
        line_no, (raw, cut) = item
        if cut:
            yield CsvRow(line_no, raw, None, too_long(max_bytes))
            continue
        text = decode(raw)
        if text is None:
            yield CsvRow(line_no, raw, None, undecodable(encoding))
            continue
        if line_no == 1:
            text = text.removeprefix("\ufeff")
            if text.count("\t") > text.count(","):
                dialect["delimiter"] = "\t"
        if text.count('"') % 2 == 0:
            row = _parse_csv(line_no, raw, text, dialect)
        else:
            row = _quoted_record(line_no, raw, text, take, pushed, decode, max_bytes, width, dialect)
        if width is None and row.cells is not None and len(row.cells) > 1:
            width = len(row.cells)      # the header's (a title line above it has one cell)
        yield row


TITLE_LINE = "a title line above the header, not a row"


def split_header(rows: Iterator[CsvRow]) -> tuple[CsvRow | None, CsvRow | None, Iterator[CsvRow]]:
    """(title, header, the rows after it) of a CSV. A spreadsheet's export may carry a title line
    ("XX市公共数据开放目录（2024年11月）": one cell with text) above the header (several)."""
    first, second = next(rows, None), next(rows, None)
    if first is not None and second is not None and _filled(first.cells) <= 1 and _filled(second.cells) >= 2:
        return first, second, rows
    return None, first, itertools.chain([] if second is None else [second], rows)


def _filled(cells: list[str] | None) -> int:
    return sum(1 for cell in cells or [] if cell.strip())


def _parse_csv(line_no: int, raw: bytes, text: str, dialect: dict) -> CsvRow:
    try:
        return CsvRow(line_no, raw, next(csv.reader([text], **dialect), []))
    except csv.Error as exc:
        return CsvRow(line_no, raw, None, f"not a readable CSV row ({exc})")


def _quoted_record(line_no, raw, text, take, pushed, decode, max_bytes, width, dialect) -> CsvRow:
    """A record whose quoted cell goes on past its first line (see csv_rows)."""
    taken, texts, size, quotes = [], [text], len(raw), text.count('"')
    while quotes % 2 and size <= max_bytes:
        item = take()
        if item is None:
            break
        taken.append(item)
        _, (more, cut) = item
        more_text = None if cut else decode(more)
        if more_text is None:
            break
        texts.append(more_text)
        size += len(more) + 1
        quotes += more_text.count('"')
    if quotes % 2 == 0 and size <= max_bytes:
        joined = b"\n".join([raw, *(item[1][0] for item in taken)])
        row = _parse_csv(line_no, joined, "\n".join(texts), dialect)
        if row.cells is not None and (width is None or len(row.cells) == width):
            return row
    pushed.extendleft(reversed(taken))
    return CsvRow(line_no, raw, None, "unclosed quote: a quoted cell starts on this line and does not end")


# --- derived event ids for logs without a request id --------------------------------------------


class EventIds:
    """Event ids for log lines that carry none: the line's hash and how many identical lines came
    before it in the file. Identical lines share their time stamp, so they are counted per second
    wherever they stand (not only next to each other): re-ingesting the file gives the same ids
    (and dedupes), and two identical requests stay two events. Counts are kept for the last
    `seconds` distinct seconds seen, which bounds memory on long files; a line more out of order
    than that would restart its count."""

    def __init__(self, prefix: str, seconds: int = 900) -> None:
        self.prefix = prefix
        self.seconds = seconds
        self.counts: OrderedDict[str, dict[str, int]] = OrderedDict()

    def derive(self, line: bytes, second: str) -> str:
        digest = hashlib.sha1(line).hexdigest()[:24]
        seen = self.counts.get(second)
        if seen is None:
            seen = self.counts[second] = {}
            if len(self.counts) > self.seconds:
                self.counts.popitem(last=False)
        seen[digest] = seen.get(digest, 0) + 1
        return f"{self.prefix}-{digest}-{seen[digest]}"


# --- format detection -----------------------------------------------------------------------------


# Apache's vhost_combined puts `host:port` before the client address (`%v:%p %h %l %u %t ...`).
_COMBINED = re.compile(
    r'^(?:(?P<vhost>[^\s:]+:\d+) )?(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" '
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
        "tsv": "csv",
        "parquet": "parquet",
        "pq": "parquet",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    head = _head(path)
    if head.startswith(b"PAR1"):
        return "parquet"
    first = next((line.strip() for line in head.splitlines() if line.strip()), b"")
    if first.startswith((b"{", codecs.BOM_UTF8 + b"{")):
        return "jsonl"
    text = first.decode("utf-8", "replace")
    if _COMBINED.match(text) or _truncated_web_line(text):
        return "combined"
    if "," in text or "\t" in text:
        return "csv"
    raise UserError(f"Cannot tell the format of {path}; pass --format jsonl, csv, parquet or combined.")


def file_columns(path: Path, fmt: str, encoding: str) -> list[str]:
    """The column names of a file: a CSV header, the keys of the first JSON lines, a Parquet schema."""
    if fmt == "combined":
        return []
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception:  # noqa: BLE001 - an unreadable file has no columns; reading it says why
            return []
    with open_source(path, DEFAULT_LIMITS) as handle:
        if fmt == "csv":
            _, header, _ = split_header(csv_rows(handle, encoding, DEFAULT_LIMITS.max_line_bytes))
            return (header.cells or []) if header is not None else []
        keys: dict[str, None] = {}
        for number, (line, cut) in enumerate(bounded_lines(handle, DEFAULT_LIMITS.max_line_bytes)):
            if number >= 100:
                break
            record = _json_object(line, encoding) if not cut else None
            keys.update(dict.fromkeys(record or {}))
        return list(keys)


def _json_object(line: bytes, encoding: str) -> dict | None:
    try:
        record = json.loads(line.decode(encoding).removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def read_chunks(path: Path, fmt: str, chunk_lines: int,
                options: ReadOptions | None = None) -> Iterator[Chunk]:
    """The chunks of one file in the given format. A file that cannot be read on (a limit, damaged
    data, any reader error) ends with a chunk of one line whose problem says why: the lines before
    it are accounted for as usual, and the run goes on with the next file."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    options = options or ReadOptions()
    readers = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "combined": read_combined}
    next_index, next_line = 0, 1
    try:
        for chunk in readers[fmt](path, chunk_lines, options):
            next_index, next_line = chunk.index + 1, chunk.last_line + 1
            yield chunk
        return
    except SourceStopped as stop:
        reason = str(stop)
    except Exception as exc:  # noqa: BLE001 - a reader error becomes a rejected line, never an aborted run
        reason = f"stopped: the file could not be read on from here ({type(exc).__name__}: {exc})"[:500]
    yield stop_chunk(next_index, next_line, reason)


def stop_chunk(index: int, line_no: int, reason: str) -> Chunk:
    batch = _Batch(index)
    batch.add(line_no, b"", b"", reason)
    chunk = batch.take()
    chunk.stopped = reason
    return chunk


# --- JSON Lines ----------------------------------------------------------------------------------


class _LongLine(bytes):
    """The start of a line longer than the limit (it is rejected; the rest was skipped)."""


def _line_chunks(handle, chunk_lines: int, max_line: int) -> Iterator[bytes]:
    """The text of each chunk of `chunk_lines` whole lines; every line ends with a newline.

    Blocks are read and joined once per chunk, so memory is one chunk plus one block. A line
    that runs past `max_line` across blocks comes as a `_LongLine` (its start) and its rest is
    skipped; a long line within one block is left to the engine's length check. When reading
    stops (SourceStopped), the whole lines read so far come first.
    """
    pieces: list[bytes] = []
    lines = 0        # complete lines held in `pieces`
    partial = 0      # bytes after the last newline in `pieces`
    skipping = False
    while True:
        try:
            block = handle.read(BLOCK_BYTES)
        except SourceStopped:
            text = b"".join(pieces)
            end = text.rfind(b"\n") + 1
            if end:
                yield from _split_count(text[:end], chunk_lines)
            raise
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
        if partial > max_line:
            text = b"".join(pieces)
            cut = len(text) - partial
            head, text = _LongLine(text[cut:cut + PREVIEW_BYTES]), text[:cut]
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


def read_jsonl(path: Path, chunk_lines: int, options: ReadOptions) -> Iterator[Chunk]:
    """JSON Lines: passed to the engine as they are when in the contract's names and UTF-8;
    otherwise each line is decoded and mapped (`read_json_records`)."""
    encoding = options.encoding or detect_encoding(path)
    if options.convert is not None or encoding != "utf-8":
        yield from read_json_records(path, chunk_lines, options, encoding)
        return
    max_line = options.limits.max_line_bytes
    line_no = 1
    with open_source(path, options.limits) as handle:
        for index, text in enumerate(_line_chunks(handle, chunk_lines, max_line)):
            if isinstance(text, _LongLine):
                batch = _Batch(index)
                batch.add(line_no, b"", bytes(text), too_long(max_line))
                yield batch.take()
                line_no += 1
                continue
            if index == 0 and text.startswith(codecs.BOM_UTF8):
                text = text[3:]  # a UTF-8 byte-order mark is not part of the first line
            count = text.count(b"\n")
            yield Chunk(index=index, first_line=line_no, count=count,
                        digest=hashlib.sha256(text).hexdigest(), size=len(text), text=text)
            line_no += count


def read_json_records(path: Path, chunk_lines: int, options: ReadOptions, encoding: str) -> Iterator[Chunk]:
    """JSON lines one by one: decoded from the file's encoding and mapped onto the contract."""
    batch = _Batch()
    max_line = options.limits.max_line_bytes
    convert = options.convert
    with open_source(path, options.limits) as handle:
        try:
            for line_no, (raw, cut) in enumerate(bounded_lines(handle, max_line), start=1):
                if cut:
                    batch.add(line_no, b"", raw, too_long(max_line))
                else:
                    _add_json_line(batch, line_no, raw, encoding, convert)
                if len(batch) >= chunk_lines:
                    yield batch.take()
        except SourceStopped:
            if len(batch):
                yield batch.take()
            raise
    if len(batch):
        yield batch.take()


def _add_json_line(batch: _Batch, line_no: int, raw: bytes, encoding: str, convert) -> None:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        batch.add(line_no, b"", raw, undecodable(encoding))
        return
    if line_no == 1:
        text = text.removeprefix("\ufeff")
    line = text.encode("utf-8")
    if convert is None or not text.strip():
        batch.add(line_no, line, raw)          # the engine checks it (and names an empty line)
        return
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        batch.add(line_no, line, raw)          # the engine names it malformed
        return
    if not isinstance(record, dict):
        batch.add(line_no, line, raw)
        return
    batch.add(line_no, *_mapped(convert, record, raw))


def _mapped(convert, record: dict, raw: bytes) -> tuple[bytes, bytes, str]:
    """(line, raw, problem) of a mapped record: one line's odd value rejects that line, not the file."""
    try:
        return _dumps(convert(record, raw)), raw, ""
    except Exception as exc:  # noqa: BLE001 - the reason goes to the rejected line
        return b"", raw, f"the line could not be mapped ({type(exc).__name__}: {exc})"[:300]


# --- records converted to JSON lines (CSV, Parquet, combined log) --------------------------------


class _Batch:
    """Collects converted records and cuts them into chunks."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
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
        self.digest.update(raw or line or problem.encode())
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
                      digest=self.digest.hexdigest(), size=self.size, records=records,
                      last_line=self.line_nos[-1])
        self.index += 1
        self.reset()
        return chunk


def _dumps(record: dict) -> bytes:
    try:
        return json.dumps(record, ensure_ascii=False, default=_json_default).encode("utf-8")
    except (ValueError, RecursionError):
        return b"{}"   # a value JSON cannot hold (nested too deep): the engine rejects the empty record


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _cell(name: str, text: object) -> object:
    """A CSV cell as the JSON value the contract expects for its column."""
    if not isinstance(text, str):
        return text
    if name in INT_FIELDS or name == "ts":
        stripped = text.strip()
        if re.fullmatch(r"-?\d{1,20}", stripped):
            return int(stripped)
        return text
    if name in JSON_FIELDS:
        if not text.strip():
            return [] if name == "fields" else {}
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return text


def read_csv(path: Path, chunk_lines: int, options: ReadOptions) -> Iterator[Chunk]:
    batch = _Batch()
    encoding = options.encoding or detect_encoding(path)
    convert = options.convert
    with open_source(path, options.limits) as handle:
        title, header_row, rows = split_header(csv_rows(handle, encoding, options.limits.max_line_bytes))
        try:
            if title is not None:
                batch.add(title.line_no, b"", title.raw, TITLE_LINE)
            if header_row is not None and header_row.cells is None:
                raise SourceStopped(f"stopped: the first line is not a CSV header ({header_row.problem})")
            header = header_row.cells if header_row is not None else []   # as written: matched loosely
            for row in rows if header else ():
                _add_csv_row(batch, row, header, convert)
                if len(batch) >= chunk_lines:
                    yield batch.take()
        except SourceStopped:
            if len(batch):
                yield batch.take()
            raise
    if len(batch):
        yield batch.take()


def _add_csv_row(batch: _Batch, row: CsvRow, header: list[str], convert) -> None:
    cells = row.cells
    if cells is None:
        batch.add(row.line_no, b"", row.raw, row.problem)
    elif not cells or all(not cell.strip() for cell in cells):
        batch.add(row.line_no, b"", row.raw if row.raw.strip() else b" ", "empty line")
    elif len(cells) != len(header):
        batch.add(row.line_no, b"", row.raw, f"row has {len(cells)} cells, the header has {len(header)}")
    else:
        record = dict(zip(header, cells, strict=True))
        if convert is not None:
            line, raw, problem = _mapped(lambda r, x: _typed(convert(r, x)), record, row.raw)
            batch.add(row.line_no, line, raw, problem)
        else:
            batch.add(row.line_no, _dumps(_typed(record)), row.raw)


def _typed(record: dict) -> dict:
    return {name: _cell(name, value) for name, value in record.items()}


def _parquet_value(value: object) -> object:
    if isinstance(value, list) and value and isinstance(value[0], tuple) and len(value[0]) == 2:
        return {k: v for k, v in value}  # a Parquet MAP arrives as key/value pairs
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def read_parquet(path: Path, chunk_lines: int, options: ReadOptions) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceStopped(f"stopped: not a readable Parquet file ({exc})") from None
    batch = _Batch()
    row_no = 0
    convert = options.convert
    try:
        for record_batch in parquet.iter_batches(batch_size=min(chunk_lines, 65_536)):
            for record in record_batch.to_pylist():
                row_no += 1
                record = {name: _parquet_value(value) for name, value in record.items() if value is not None}
                if convert is None:
                    batch.add(row_no, _dumps(record), b"")
                else:
                    source = _dumps(record)
                    line, _, problem = _mapped(convert, record, source)
                    batch.add(row_no, line, source if problem else b"", problem)
                if len(batch) >= chunk_lines:
                    yield batch.take()
    except (pa.ArrowException, OSError) as exc:
        if len(batch):
            yield batch.take()
        raise SourceStopped(f"stopped: the Parquet file is damaged after row {row_no} ({exc})") from None
    if len(batch):
        yield batch.take()


# --- combined / common web logs -------------------------------------------------------------------


def _unescape(text: str | None) -> str:
    return (text or "").replace('\\"', '"').replace("\\\\", "\\")


def _truncated_web_line(text: str) -> bool:
    """A web-log line cut off mid-field: an address, then `[time` or `"request` left open."""
    match = re.match(r'^(?:[^\s:]+:\d+ )?\S+ \S+ \S+ \[', text)
    if not match:
        return False
    if "]" not in text[match.end():]:
        return True
    unescaped = re.sub(r'\\.', "", text)
    return unescaped.count('"') % 2 == 1


def combined_record(text: str, event_id: str) -> dict | None:
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
    return {
        "event_id": event_id,
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


def read_combined(path: Path, chunk_lines: int, options: ReadOptions) -> Iterator[Chunk]:
    batch = _Batch()
    # A web log has no request id: the line's hash and its count among identical lines make one.
    ids = EventIds("web")
    max_line = options.limits.max_line_bytes
    with open_source(path, options.limits) as handle:
        try:
            for line_no, (raw, cut) in enumerate(bounded_lines(handle, max_line), start=1):
                if cut:
                    batch.add(line_no, b"", raw, too_long(max_line))
                else:
                    _add_web_line(batch, line_no, raw, ids)
                if len(batch) >= chunk_lines:
                    yield batch.take()
        except SourceStopped:
            if len(batch):
                yield batch.take()
            raise
    if len(batch):
        yield batch.take()


def _add_web_line(batch: _Batch, line_no: int, raw: bytes, ids: EventIds) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        batch.add(line_no, raw, raw)  # validation rejects it as invalid UTF-8
        return
    if not text.strip() or "\x00" in text:
        batch.add(line_no, raw, raw)  # validation names the problem
        return
    if _truncated_web_line(text):
        batch.add(line_no, b"", raw, "truncated line")
        return
    bracket = text.find("[")
    record = combined_record(text, ids.derive(raw, text[bracket:bracket + 30]))
    if record is None:
        batch.add(line_no, b"", raw, "not a combined or common log format line")
    else:
        batch.add(line_no, _dumps(record), raw)
