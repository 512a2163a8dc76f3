"""Profile a dataset file with polars: the evidence behind the content quality dimensions.

A file (CSV, XLSX, JSON / JSON Lines, Parquet; CSV and JSON in UTF-8 or GBK) is read
lazily with every column as text, in one streaming pass that counts, per field, empty
cells, values that do not fit the field's declared type, unified social credit codes
failing the GB 32100 checksum and impossible dates, with one example each. The same pass
keeps 16 bytes a row (row number, row hash, key hash) plus the key, from which duplicate
rows and keys are counted afterwards; nothing else of the file is held in memory.
"""

from __future__ import annotations

import codecs
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from odwatch.errors import UserError

SUPPORTED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson", ".parquet"}

# Cell contents that mean "no value" in published Chinese government data.
NULL_TOKENS = ["", " ", "  ", "null", "NULL", "Null", "None", "none", "N/A", "n/a", "NA", "NaN", "nan",
               "-", "—"]

# Declared field types (datasets.fields[].type) and the names agencies also use for them.
TYPE_ALIASES = {
    "string": "string", "str": "string", "text": "string", "varchar": "string", "char": "string",
    "id": "string", "name": "string", "address": "string",
    "int": "integer", "integer": "integer", "bigint": "integer", "long": "integer",
    "float": "number", "double": "number", "number": "number", "decimal": "number",
    "numeric": "number", "amount": "number", "money": "number",
    "date": "date", "datetime": "datetime", "timestamp": "datetime", "time": "datetime",
    "bool": "boolean", "boolean": "boolean",
    "credit_code": "credit_code", "uscc": "credit_code", "unified_social_credit_code": "credit_code",
    "enum": "enum", "category": "enum", "code": "enum",
}
KNOWN_TYPES = set(TYPE_ALIASES)

# GB 32100-2015 unified social credit code: 18 characters from this alphabet, the last a check character.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]
CREDIT_SHAPE = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
BOOLEAN_VALUES = ["true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "是", "否", "Y", "N", "y", "n"]

# Date layouts accepted as valid, told apart by the separator after the year; a column mixing
# several is a consistency finding. The clock of a datetime is optional after the date.
DATE_SHAPE = r"^([0-9]{4})([-/年]?)([0-9]{1,2})[-/月]?([0-9]{1,2})日?"
DATE_LAYOUTS = {"-": "yyyy-mm-dd", "/": "yyyy/mm/dd", "年": "yyyy年m月d日", "": "yyyymmdd"}
DATE_TAIL = r"$"
DATETIME_TAIL = r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$"
YEAR_RANGE = (date(1900, 1, 1), date(2100, 12, 31))

# Column pairs that must be ordered (start <= end) wherever both are present.
ORDER_PAIRS = [
    ("start_date", "end_date"), ("begin_date", "end_date"), ("valid_from", "valid_to"),
    ("start_time", "end_time"), ("开始日期", "结束日期"), ("有效期起", "有效期止"),
]
KEY_NAMES = {"id", "编号", "序号", "record_id"}
ROW = "__odw_row"


@dataclass
class Finding:
    """One rule broken by some cells of a field."""

    rule: str
    count: int
    example: str


@dataclass
class FieldProfile:
    name: str
    declared_type: str              # normalised type, '' when undeclared or unknown
    nulls: int = 0
    null_example_row: int | None = None
    checked: int = 0                # non-empty cells a type check ran on
    findings: list[Finding] = field(default_factory=list)
    date_layouts: dict[str, int] = field(default_factory=dict)


@dataclass
class Profile:
    path: str
    rows: int
    columns: list[str]
    fields: list[FieldProfile]
    duplicate_rows: int
    duplicate_row_example: str
    key: str | None
    duplicate_keys: int
    duplicate_key_example: str
    missing_fields: list[str]
    extra_columns: list[str]
    order_checks: list[tuple[str, str, int, str]]   # (start, end, rows out of order, example)
    encoding: str = "utf-8"


def normalise_type(declared: str | None) -> str:
    return TYPE_ALIASES.get((declared or "").strip().lower(), "")


def credit_check_char(body: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_ALPHABET.index(ch) * w for ch, w in zip(body[:17], CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_is_valid(code: str) -> bool:
    """GB 32100-2015 check: 18 characters of the alphabet, the last the weighted checksum."""
    return bool(re.fullmatch(CREDIT_SHAPE, code or "")) and code[17] == credit_check_char(code)


# ---------------------------------------------------------------- reading


def detect_encoding(path: Path, probe: int = 1 << 20) -> str:
    """'utf-8' or 'gb18030' (a superset of GBK), judged on the first megabyte."""
    with open(path, "rb") as handle:
        head = handle.read(probe)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    cut = head.rfind(b"\n") if len(head) == probe else len(head)
    sample = head[: cut if cut > 0 else len(head)]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path.name} is neither UTF-8 nor GBK text ({exc.reason} at byte {exc.start}).") from exc


@contextmanager
def utf8_copy(path: Path, encoding: str) -> Iterator[Path]:
    """The file itself when UTF-8, else a transcoded temporary copy (streamed, bounded memory)."""
    if encoding == "utf-8":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="odwatch-profile-") as tmp:
        target = Path(tmp) / path.name
        with open(path, encoding=encoding, errors="strict", newline="") as src, \
                open(target, "w", encoding="utf-8", newline="") as dst:
            try:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
            except UnicodeDecodeError as exc:
                raise UserError(f"{path.name}: bytes that are not {encoding} text ({exc.reason}).") from exc
        yield target


def _separator(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in (",", "\t", ";", "|")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _as_text(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Every column as String so type checks see what was published, not what polars guessed."""
    schema = lf.collect_schema()
    exprs = []
    for name, dtype in schema.items():
        if dtype == pl.String:
            exprs.append(pl.col(name))
        elif dtype.is_nested():
            exprs.append(pl.col(name).cast(pl.String, strict=False))
        else:
            exprs.append(pl.col(name).cast(pl.String))
    return lf.select(exprs)


def scan_text(path: Path, utf8_path: Path) -> pl.LazyFrame:
    """A lazy frame of the file with all columns as text."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return pl.scan_csv(utf8_path, infer_schema=False, separator=_separator(utf8_path),
                           truncate_ragged_lines=True)
    if suffix in {".xlsx", ".xlsm"}:
        return _as_text(pl.read_excel(path, engine="openpyxl").lazy())
    if suffix in {".jsonl", ".ndjson"}:
        return _as_text(pl.scan_ndjson(utf8_path, infer_schema_length=1000))
    if suffix == ".json":
        with open(utf8_path, encoding="utf-8") as handle:
            first = handle.read(4096).lstrip()[:1]
        if first == "[":
            return _as_text(pl.read_json(utf8_path).lazy())
        return _as_text(pl.scan_ndjson(utf8_path, infer_schema_length=1000))
    if suffix == ".parquet":
        return _as_text(pl.scan_parquet(path))
    raise UserError(f"{path.name}: unsupported file type {suffix or '(none)'}; "
                    f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}.")


# ---------------------------------------------------------------- expressions
# Cells are checked as published (no trimming: a padded " 2024-01-01" is a format error of a date
# field). Intermediate results and per-rule masks are materialised as columns in stages before the
# aggregation, so each cell is parsed once per rule however many statistics use the result.


def _is_null(name: str) -> pl.Expr:
    return pl.col(name).is_null() | pl.col(name).is_in(NULL_TOKENS)


def _date_checks(name: str, with_time: bool, tag: str) -> tuple[list[dict[str, pl.Expr]], dict[str, pl.Expr]]:
    """Masks for bad format and impossible dates, and one count per layout of the real dates.

    The common layout is parsed natively; only the cells it rejects (few, in real data, so
    the later expressions run over a column of nulls) go through one regular expression that
    finds the layout, and their parts are parsed again as yyyy-mm-dd: a cell of an accepted
    layout that still fails is a date or clock that does not exist (2023-02-30, month 13,
    year 0021, 25:00). Pure expressions, so the streaming engine runs them in parallel.
    Returns stages of intermediate columns to materialise first, and the masks over them.
    """
    value = pl.col(name)
    ok, rest, parts = f"{tag}_ok", f"{tag}_rest", f"{tag}_parts"
    stages = [
        {ok: _parse(value, with_time).is_between(*YEAR_RANGE).fill_null(False)},
        {rest: pl.when(~pl.col(ok)).then(value)},
        {parts: pl.col(rest).str.extract_groups(DATE_SHAPE + (DATETIME_TAIL if with_time else DATE_TAIL))},
    ]
    part = pl.col(parts).struct.field
    separator = part("2")
    rewritten = pl.concat_str([part("1"), part("3"), part("4")], separator="-")
    if with_time:
        clock = pl.concat_str([part("5"), part("6"), part("7").fill_null("00")], separator=":")
        rewritten = pl.concat_str([rewritten, clock.fill_null("00:00:00")], separator=" ")
    exists = _parse(rewritten, with_time).is_between(*YEAR_RANGE).fill_null(False)
    other = ~pl.col(ok) & separator.is_not_null()
    layouts = {f"layout:{label}": other & exists & (separator == sep) for sep, label in DATE_LAYOUTS.items()}
    layouts["layout:yyyy-mm-dd"] = pl.col(ok) | layouts["layout:yyyy-mm-dd"]
    return stages, {"format": ~pl.col(ok) & separator.is_null(), "impossible_date": other & ~exists,
                    **layouts}


def _parse(value: pl.Expr, with_time: bool) -> pl.Expr:
    """The text as a Date (yyyy-mm-dd, with a clock for datetimes), null when it does not parse."""
    if not with_time:
        return value.str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce([value.str.to_datetime(f, strict=False).dt.date() for f in (
        "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M")]
        + [value.str.to_date("%Y-%m-%d", strict=False)])


# GB 32100 in numpy lookup tables: value of each byte, whether it may stand in each position.
_CREDIT_VALUE = np.zeros(256, dtype=np.int32)
_CREDIT_ALLOWED = np.zeros((18, 256), dtype=bool)
for _i, _ch in enumerate(CREDIT_ALPHABET):
    _CREDIT_VALUE[ord(_ch)] = _i
for _pos in range(18):
    _CREDIT_ALLOWED[_pos, [ord(c) for c in ("0123456789" if 2 <= _pos < 8 else CREDIT_ALPHABET)]] = True
CREDIT_OK, CREDIT_FORMAT, CREDIT_CHECKSUM = 0, 1, 2


def credit_code_status(codes: pl.Series) -> pl.Series:
    """Per code: 0 valid, 1 not the GB 32100 shape (also empty cells), 2 wrong check character.

    Vectorised over the batch: the codes' bytes as an (n, 18) matrix, lookup tables for the
    alphabet and the positions, the weighted sum one column at a time.
    """
    n = len(codes)
    fixed = pl.select(pl.when(codes.str.len_bytes() == 18).then(codes).otherwise(pl.lit("#" * 18)))
    array = fixed.to_series().cast(pl.Binary).to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.large_binary():
        array = array.cast(pa.large_binary())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset: array.offset + n + 1]
    matrix = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(n, 18)
    shaped = np.ones(n, dtype=bool)
    total = np.zeros(n, dtype=np.int32)
    for pos in range(18):
        shaped &= _CREDIT_ALLOWED[pos][matrix[:, pos]]
        if pos < 17:
            total += _CREDIT_VALUE[matrix[:, pos]] * CREDIT_WEIGHTS[pos]
    wrong = _CREDIT_VALUE[matrix[:, 17]] != (31 - total % 31) % 31
    status = np.where(~shaped, CREDIT_FORMAT, np.where(wrong, CREDIT_CHECKSUM, CREDIT_OK)).astype(np.int8)
    return pl.Series(codes.name, status)


def rule_masks(name: str, spec: dict, tag: str = "__x"
               ) -> tuple[list[dict[str, pl.Expr]], dict[str, pl.Expr]]:
    """Stages of intermediate columns to compute first (named from `tag`), and per rule a mask
    true for cells breaking it, for a field of this declared spec."""
    kind = normalise_type(spec.get("type"))
    value = pl.col(name)
    prep: list[dict[str, pl.Expr]] = []
    masks: dict[str, pl.Expr] = {}
    # Numbers must be plain numerals: "1,234" or "五十" are type errors for a machine reader.
    if kind == "integer":
        masks["type"] = value.cast(pl.Int64, strict=False).is_null()
    elif kind == "number":
        masks["type"] = value.cast(pl.Float64, strict=False).is_null()
    elif kind in ("date", "datetime"):
        prep, masks = _date_checks(name, kind == "datetime", tag)
    elif kind == "boolean":
        masks["value_set"] = ~value.is_in(BOOLEAN_VALUES)
    elif kind == "credit_code":
        status = f"{tag}_credit"
        prep = [{status: value.map_batches(credit_code_status, return_dtype=pl.Int8, is_elementwise=True)}]
        masks["format"] = pl.col(status) == CREDIT_FORMAT
        masks["checksum"] = pl.col(status) == CREDIT_CHECKSUM
    values = spec.get("values")
    if isinstance(values, list) and values:
        masks["value_set"] = ~value.is_in([str(v) for v in values])
    return prep, masks


def _order_mask(start: str, end: str) -> pl.Expr:
    """Rows whose start date comes after their end date (yyyy-mm-dd cells)."""
    def as_date(name: str) -> pl.Expr:
        return pl.col(name).str.to_date("%Y-%m-%d", strict=False)
    return (as_date(start) > as_date(end)).fill_null(False)


# ---------------------------------------------------------------- profiling


def _guess_specs(columns: list[str]) -> dict[str, dict]:
    """Without a declared schema, recognise the obvious by name: credit codes and dates."""
    specs = {}
    for name in columns:
        low = name.lower()
        if "credit_code" in low or "信用代码" in name or low in {"uscc", "tyshxydm"}:
            specs[name] = {"name": name, "type": "credit_code"}
        elif low.endswith("_date") or low == "date" or name.endswith("日期"):
            specs[name] = {"name": name, "type": "date"}
    return specs


def _key_column(columns: list[str], specs: dict[str, dict]) -> str | None:
    declared = [n for n, s in specs.items() if s.get("key") or s.get("primary_key")]
    if declared and declared[0] in columns:
        return declared[0]
    first = columns[0] if columns else None
    if first and (first.lower() in KEY_NAMES or first.lower().endswith("_id")):
        return first
    return None


Examples = dict[str, tuple[str, list[str]]]


def _plan(columns: list[str], specs: dict[str, dict], pairs: list[tuple[str, str]]
          ) -> tuple[list[list[pl.Expr]], list[pl.Expr], Examples, dict[str, list[str]]]:
    """Stages of columns to add (null flags, intermediate results, one boolean per rule), the
    counts over them, and for each example wanted its flag column and the columns to quote."""
    examples: Examples = {}
    nulls: list[pl.Expr] = []
    prep_stages: list[list[pl.Expr]] = []
    flags: list[pl.Expr] = []
    stats: list[pl.Expr] = [pl.len().alias("rows")]
    rules_by_col: dict[str, list[str]] = {}
    for i, name in enumerate(columns):
        null = f"__n{i}"
        nulls.append(_is_null(name).alias(null))
        stats.append(pl.col(null).sum().alias(f"{i}|nulls"))
        examples[f"{i}|null_row"] = (null, [ROW])
        prep, masks = rule_masks(name, specs.get(name, {}), tag=f"__t{i}")
        for k, stage in enumerate(prep):
            if len(prep_stages) <= k:
                prep_stages.append([])
            prep_stages[k] += [expr.alias(column) for column, expr in stage.items()]
        rules_by_col[name] = list(masks)
        if masks:
            stats.append((~pl.col(null)).sum().alias(f"{i}|checked"))
        for r, (rule, mask) in enumerate(masks.items()):
            flag = f"__r{i}_{r}"
            flags.append((~pl.col(null) & mask.fill_null(True)).alias(flag))
            stats.append(pl.col(flag).sum().alias(f"{i}|{rule}"))
            if not rule.startswith("layout:"):
                examples[f"{i}|{rule}|ex"] = (flag, [name])
    for j, (start, end) in enumerate(pairs):
        flags.append(_order_mask(start, end).alias(f"__p{j}"))
        stats.append(pl.col(f"__p{j}").sum().alias(f"pair{j}"))
        examples[f"pair{j}|ex"] = (f"__p{j}", [start, end])
    return [nulls, *prep_stages, flags], stats, examples, rules_by_col


def profile_frame(lf: pl.LazyFrame, declared: list[dict] | None, *, path: str = "",
                  encoding: str = "utf-8") -> Profile:
    """Profile a lazy frame of text columns against the declared fields (may be empty)."""
    columns = [c for c in lf.collect_schema().names() if c != ROW]
    if not columns:
        raise UserError(f"{path or 'the file'} has no columns.")
    declared = [d for d in (declared or []) if isinstance(d, dict) and d.get("name")]
    specs = {d["name"]: d for d in declared if d["name"] in columns}
    guessed = _guess_specs(columns) if not declared else {}
    specs = {**guessed, **specs}
    key = _key_column(columns, specs)
    pairs = [(a, b) for a, b in ORDER_PAIRS if a in columns and b in columns]
    stages, stats, wanted, rules_by_col = _plan(columns, specs, pairs)
    source = lf.select(columns).with_row_index(ROW, offset=1)
    collector, examples = _Collector(), _FirstExamples(wanted)
    keep = [pl.col(ROW), pl.struct(columns).hash().alias("row_hash")]
    if key:
        filled = ~pl.col(f"__n{columns.index(key)}")
        keep += [pl.col(key).alias("key"), pl.when(filled).then(pl.col(key).hash()).alias("key_hash")]
    quoted = sorted({ROW} | {c for flag, cols in wanted.values() for c in [flag, *cols]})
    plan = source
    for stage in stages:
        plan = plan.with_columns(stage)
    plan = plan.with_columns(
        pl.struct(keep).map_batches(collector, return_dtype=pl.Boolean, is_elementwise=True).alias("__kept"),
        pl.struct(quoted).map_batches(examples, return_dtype=pl.Boolean, is_elementwise=True).alias("__ex"))
    stats += [pl.col("__kept").sum(), pl.col("__ex").sum()]
    try:
        row = plan.select(stats).collect(engine="streaming").row(0, named=True) | examples.found()
        hashes = collector.frame()
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"Cannot read {path or 'the file'}: {str(exc).splitlines()[0]}") from exc
    rows = int(row["rows"])
    fields = []
    for i, name in enumerate(columns):
        fp = FieldProfile(name, normalise_type(specs.get(name, {}).get("type")),
                          nulls=int(row[f"{i}|nulls"]), null_example_row=row[f"{i}|null_row"])
        fp.checked = int(row.get(f"{i}|checked") or 0)
        for rule in rules_by_col[name]:
            count = int(row[f"{i}|{rule}"] or 0)
            if rule.startswith("layout:"):
                if count:
                    fp.date_layouts[rule.split(":", 1)[1]] = count
            elif count:
                fp.findings.append(Finding(rule, count, str(row[f"{i}|{rule}|ex"])))
        fields.append(fp)
    duplicate_rows, row_example = _duplicates(hashes, "row_hash")
    duplicate_keys, key_example = _duplicates(hashes, "key_hash", shown="key") if key else (0, "")
    declared_names = [d["name"] for d in declared]
    return Profile(
        path=path, rows=rows, columns=columns, fields=fields,
        duplicate_rows=duplicate_rows, duplicate_row_example=row_example,
        key=key, duplicate_keys=duplicate_keys, duplicate_key_example=key_example,
        missing_fields=[n for n in declared_names if n not in columns],
        extra_columns=[c for c in columns if declared and c not in declared_names],
        order_checks=[(a, b, int(row[f"pair{j}"]), str(row[f"pair{j}|ex"] or ""))
                      for j, (a, b) in enumerate(pairs)],
        encoding=encoding,
    )


class _Collector:
    """Keeps what duplicate detection needs (row number, row hash, key) from each streamed batch.

    Duplicates need every row's hash at once, which no streaming aggregate gives without
    holding the whole file; this rides along the single read (16 bytes a row plus the key)
    instead of reading the file a second time.
    """

    def __init__(self) -> None:
        self.batches: list[pl.Series] = []

    def __call__(self, batch: pl.Series) -> pl.Series:
        self.batches.append(batch)
        return pl.Series(batch.name, np.ones(len(batch), dtype=bool))

    def frame(self) -> pl.DataFrame:
        # Batches can arrive out of order; each is in order, so ordering them by their first row
        # restores file order (and makes "the first repeat" the same on every run).
        batches = sorted((b for b in self.batches if len(b)), key=lambda b: b.struct.field(ROW)[0])
        if not batches:
            return pl.DataFrame(schema={ROW: pl.UInt32, "row_hash": pl.UInt64, "key": pl.String,
                                        "key_hash": pl.UInt64})
        return pl.concat([b.struct.unnest() for b in batches])


class _FirstExamples:
    """The first flagged row of each finding, picked from the streamed batches.

    Cheaper than one filtered `first()` aggregate per rule: a batch is only looked into for
    the flags it raises, and the earliest row wins (batches may arrive out of order).
    """

    def __init__(self, wanted: Examples) -> None:
        self.wanted = wanted
        self.best: dict[str, tuple[int, list]] = {}
        self.lock = threading.Lock()

    def __call__(self, batch: pl.Series) -> pl.Series:
        frame = batch.struct.unnest()
        for stat, (flag, columns) in self.wanted.items():
            hits = frame[flag].arg_true()
            if hits.len():
                at = hits[0]
                row = frame[ROW][at]
                with self.lock:
                    if stat not in self.best or row < self.best[stat][0]:
                        self.best[stat] = (row, [frame[c][at] for c in columns])
        return pl.Series(batch.name, np.ones(len(batch), dtype=bool))

    def found(self) -> dict[str, object]:
        out: dict[str, object] = {stat: None for stat in self.wanted}
        for stat, (_, values) in self.best.items():
            out[stat] = values[0] if len(values) == 1 else " > ".join(map(str, values))
        return out


def _duplicates(frame: pl.DataFrame, column: str, shown: str | None = None) -> tuple[int, str]:
    """How many non-null values of `column` repeat an earlier one, and the rows of the first repeated.

    `shown` names a column whose value is quoted in the example (the key itself, beside its hash).
    """
    repeats = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_first_distinct())
    if repeats.is_empty():
        return 0, ""
    value = repeats.sort(ROW)[column][0]
    same = frame.filter(pl.col(column) == value).sort(ROW).head(3)
    where = f"第 {'、'.join(map(str, same[ROW].to_list()))} 行"
    return repeats.height, (f"{same[shown][0]}（{where}）" if shown else f"{where}相同")


def profile_file(path: Path, declared: list[dict] | None = None) -> Profile:
    """Profile one dataset file against its declared fields."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"No such file: {path}")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UserError(f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                        f"use one of {', '.join(sorted(SUPPORTED_SUFFIXES))}.")
    binary = path.suffix.lower() in {".xlsx", ".xlsm", ".parquet"}
    encoding = "binary" if binary else detect_encoding(path)
    try:
        with utf8_copy(path, "utf-8" if binary or encoding == "utf-8-sig" else encoding) as readable:
            lf = scan_text(path, readable)
            if encoding == "utf-8-sig":
                lf = lf.rename(lambda c: c.lstrip("\ufeff"))
            return profile_frame(lf, declared, path=str(path), encoding=encoding)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise UserError(f"Cannot read {path.name}: {exc}") from exc
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"Cannot read {path.name}: {str(exc).splitlines()[0]}") from exc
