"""Profile a dataset file with polars: the evidence behind the content quality dimensions.

A file (CSV, XLSX, JSON / JSON Lines, Parquet; CSV and JSON in UTF-8 or GBK) is read
lazily with every column as text and streamed in batches of rows; each batch is checked in
memory while the next is parsed, counting per field empty cells, values that do not fit the
field's declared type, unified social credit codes failing the GB 32100 checksum and
impossible dates, with the first example of each. Of every row only 16 bytes (row hash, key
hash) and the key are kept, from which duplicate rows and keys are counted afterwards;
nothing else of the file is held in memory.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from odwatch import codes
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

BOOLEAN_VALUES = ["true", "false", "True", "False", "TRUE", "FALSE", "1", "0", "是", "否", "Y", "N", "y", "n"]

# Date layouts accepted as valid, told apart by the separator after the year; a column mixing
# several is a consistency finding. The clock of a datetime is optional after the date.
DATE_SHAPE = r"^([0-9]{4})([-/年]?)([0-9]{1,2})[-/月]?([0-9]{1,2})日?"
DATE_LAYOUTS = {"-": "yyyy-mm-dd", "/": "yyyy/mm/dd", "年": "yyyy年m月d日", "": "yyyymmdd"}
DATE_TAIL = r"$"
DATETIME_TAIL = r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?$"
YEAR_RANGE = (date(1900, 1, 1), date(2100, 12, 31))
# Datetimes parsed natively, the usual first; a bare yyyy-mm-dd is accepted too.
DATETIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]

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
# field). Intermediate results are materialised as columns in stages before the rule masks, so
# each cell is parsed once however many rules and statistics use the result.


def _is_null(name: str) -> pl.Expr:
    return pl.col(name).is_null() | pl.col(name).is_in(NULL_TOKENS)


@dataclass
class Rules:
    """The checks of one field: per rule a mask true for the cells breaking it.

    Date fields are parsed natively in the common layout first (`parsed`, `accepted`); the
    cells it accepts count towards the rule `accepted_rule`. Only the non-empty cells it
    rejected — few in real data — are looked at further: those `recheck` accepts (the other
    layouts of a datetime) count towards `accepted_rule` too, and the rules in `rejected` (over
    the stages of columns `rejected_prep`) run over the rest.
    """

    prep: list[dict[str, pl.Expr]] = field(default_factory=list)   # stages of intermediate columns
    masks: dict[str, pl.Expr] = field(default_factory=dict)
    parsed: str | None = None             # column of the cells as parsed (yyyy-mm-dd date fields)
    accepted: pl.Expr | None = None       # a real date in the common layout
    accepted_rule: str = ""
    recheck: pl.Expr | None = None
    rejected_prep: list[dict[str, pl.Expr]] = field(default_factory=list)
    rejected: dict[str, pl.Expr] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list({**self.rejected, **self.masks})


def _date_rules(name: str, with_time: bool, tag: str) -> Rules:
    """Bad format, impossible dates, and one count per layout of the real dates.

    Cells the native yyyy-mm-dd parse rejects go through one regular expression that finds
    their layout, and their parts are parsed again as yyyy-mm-dd: a cell of an accepted layout
    that still fails is a date or clock that does not exist (2023-02-30, month 13, year 0021,
    25:00); a cell of no layout is a format error.
    """
    parsed, split, sep, real = f"{tag}_date", f"{tag}_parts", f"{tag}_sep", f"{tag}_real"
    shape = DATE_SHAPE + (DATETIME_TAIL if with_time else DATE_TAIL)
    part = pl.col(split).struct.field
    rewritten = pl.concat_str([part("1"), part("3"), part("4")], separator="-")
    if with_time:
        clock = pl.concat_str([part("5"), part("6"), part("7").fill_null("00")], separator=":")
        rewritten = pl.concat_str([rewritten, clock.fill_null("00:00:00")], separator=" ")
    separator, exists = pl.col(sep), pl.col(real)
    laid_out = separator.is_not_null()
    layouts = {f"layout:{label}": laid_out & exists & (separator == mark)
               for mark, label in DATE_LAYOUTS.items()}
    # polars skips whitespace before a number, so " 2024-01-01" would parse: a cell must start
    # with its year's first digit to be accepted (the layout expression below rejects it too).
    unpadded = pl.col(name).str.contains(r"^[0-9]")
    first, recheck = _parse(pl.col(name), with_time), None
    if with_time:   # the usual layout first: the other parses run only on the cells it rejects
        first = pl.col(name).str.to_datetime(DATETIME_FORMATS[0], strict=False, cache=False).dt.date()
        recheck = (_in_range(_parse(pl.col(name), with_time), with_time) & unpadded).fill_null(False)
    return Rules(prep=[{parsed: first}],
                 parsed=None if with_time else parsed, recheck=recheck,
                 accepted=(_in_range(pl.col(parsed), with_time) & unpadded).fill_null(False),
                 accepted_rule="layout:yyyy-mm-dd",
                 rejected_prep=[{split: pl.col(name).str.extract_groups(shape)},
                                {sep: part("2"),
                                 real: _in_range(_parse(rewritten, with_time), with_time).fill_null(False)}],
                 rejected={"format": separator.is_null(), "impossible_date": laid_out & ~exists, **layouts})


def _parse(value: pl.Expr, with_time: bool) -> pl.Expr:
    """The text as a point in time, null when it does not parse: yyyy-mm-dd as its midnight (polars
    parses a datetime faster than a date), with a clock for datetimes as the Date it falls on.

    Without polars' cache of distinct values: building it costs more than parsing ten bytes.
    """
    if not with_time:
        return value.str.strptime(pl.Datetime("ms"), "%Y-%m-%d", strict=False, cache=False)
    clocked = [value.str.to_datetime(f, strict=False, cache=False).dt.date() for f in DATETIME_FORMATS]
    return pl.coalesce([*clocked, value.str.to_date("%Y-%m-%d", strict=False, cache=False)])


def _in_range(parsed: pl.Expr, with_time: bool) -> pl.Expr:
    """Within YEAR_RANGE, for a result of `_parse`."""
    low, high = YEAR_RANGE
    if not with_time:
        low, high = datetime.combine(low, time()), datetime.combine(high, time())
    return parsed.is_between(low, high)


# GB 32100 as lookup tables: per position, a character's value times the position's weight (mod
# 31), its plain value in the check position, OUT for a byte that may not stand there. The codes'
# bytes are read two at a time (16-bit words), so the tables used add up the two positions of a word.
_CREDIT_OUT = 1024                       # more than 18 real entries (each < 31) can add up to
_CREDIT_TABLE = np.full((18, 256), _CREDIT_OUT, dtype=np.int16)
for _pos in range(18):
    for _ch in ("0123456789" if _pos in codes.DIVISION_POSITIONS else codes.ALPHABET):
        _value = codes.ALPHABET.index(_ch)
        _CREDIT_TABLE[_pos, ord(_ch)] = _value * codes.WEIGHTS[_pos] % 31 if _pos < 17 else _value
_WORDS = np.arange(1 << 16)
_CREDIT_WORDS = np.stack([_CREDIT_TABLE[2 * k][_WORDS & 255] + _CREDIT_TABLE[2 * k + 1][_WORDS >> 8]
                          for k in range(8)])
CREDIT_OK, CREDIT_FORMAT, CREDIT_CHECKSUM = 0, 1, 2


def credit_code_status(codes: pl.Series) -> pl.Series:
    """Per code: 0 valid, 1 not the GB 32100 shape (also empty cells), 2 wrong check character.

    Vectorised over the batch: the codes' bytes as a matrix of nine 16-bit words a code, one
    table lookup per word summed into the weighted total.
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
    words = np.ascontiguousarray(matrix.view("<u2").T)          # (9, n): positions 2k and 2k + 1
    total = np.take(_CREDIT_WORDS[0], words[0])
    for k in range(1, 8):
        total += np.take(_CREDIT_WORDS[k], words[k])
    total += np.take(_CREDIT_TABLE[16], words[8] & 255)
    check = np.take(_CREDIT_TABLE[17], words[8] >> 8)
    shaped = (total < _CREDIT_OUT) & (check < _CREDIT_OUT)
    wrong = check != (31 - total % 31) % 31
    status = np.where(shaped, np.where(wrong, CREDIT_CHECKSUM, CREDIT_OK), CREDIT_FORMAT).astype(np.int8)
    return pl.Series(codes.name, status)


def rule_masks(name: str, spec: dict, tag: str = "__x") -> Rules:
    """The rules of a field of this declared spec; intermediate columns are named from `tag`."""
    kind = normalise_type(spec.get("type"))
    value = pl.col(name)
    rules = Rules()
    # Numbers must be plain numerals: "1,234" or "五十" are type errors for a machine reader.
    if kind == "integer":
        rules.masks["type"] = value.cast(pl.Int64, strict=False).is_null()
    elif kind == "number":
        rules.masks["type"] = value.cast(pl.Float64, strict=False).is_null()
    elif kind in ("date", "datetime"):
        rules = _date_rules(name, kind == "datetime", tag)
    elif kind == "boolean":
        rules.masks["value_set"] = ~value.is_in(BOOLEAN_VALUES)
    elif kind == "credit_code":
        status = f"{tag}_credit"
        checked = value.map_batches(credit_code_status, return_dtype=pl.Int8, is_elementwise=True)
        rules.prep = [{status: checked}]
        rules.masks["format"] = pl.col(status) == CREDIT_FORMAT
        rules.masks["checksum"] = pl.col(status) == CREDIT_CHECKSUM
    values = spec.get("values")
    if isinstance(values, list) and values:
        rules.masks["value_set"] = ~value.is_in([str(v) for v in values])
    return rules


def _order_mask(start: str, end: str, parsed: dict[str, str]) -> pl.Expr:
    """Rows whose start date comes after their end date (yyyy-mm-dd cells); a date field's
    parse is reused."""
    def as_date(name: str) -> pl.Expr:
        return pl.col(parsed[name]) if name in parsed else _parse(pl.col(name), with_time=False)
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
# Cells per streamed batch (200 000 rows of 11 columns): per-batch overhead vanishes, memory stays flat
# however wide the file.
BATCH_CELLS = 2_200_000
_NO_CSE = pl.QueryOptFlags(comm_subexpr_elim=False)


@dataclass
class _Plan:
    """What each batch is turned into: stages of columns to add (null flags, intermediate results,
    then one boolean per rule), the boolean column counted for each statistic, for each example
    wanted its flag column and the columns it quotes, and per date field the column selecting
    the cells its native parse rejected with the rules run over only those cells."""

    stages: list[list[pl.Expr]]
    counted: dict[str, str]
    examples: Examples
    rules_by_col: dict[str, list[str]]
    rejected: list[tuple[int, str, str, Rules]]     # (index, field, selector column, its rules)


def _plan(columns: list[str], specs: dict[str, dict], pairs: list[tuple[str, str]]) -> _Plan:
    examples: Examples = {}
    nulls: list[pl.Expr] = []
    prep_stages: list[list[pl.Expr]] = []
    flags: list[pl.Expr] = []
    counted: dict[str, str] = {}
    rules_by_col: dict[str, list[str]] = {}
    rejected: list[tuple[int, str, str, Rules]] = []
    parsed: dict[str, str] = {}
    for i, name in enumerate(columns):
        null = f"__n{i}"
        nulls.append(_is_null(name).alias(null))
        counted[f"{i}|nulls"] = null
        examples[f"{i}|null_row"] = (null, [ROW])
        rules = rule_masks(name, specs.get(name, {}), tag=f"__t{i}")
        for k, stage in enumerate(rules.prep):
            if len(prep_stages) <= k:
                prep_stages.append([])
            prep_stages[k] += [expr.alias(column) for column, expr in stage.items()]
        rules_by_col[name] = rules.names
        for r, (rule, mask) in enumerate(rules.masks.items()):
            flag = f"__r{i}_{r}"
            flags.append((~pl.col(null) & mask.fill_null(True)).alias(flag))
            counted[f"{i}|{rule}"] = flag
            if not rule.startswith("layout:"):
                examples[f"{i}|{rule}|ex"] = (flag, [name])
        if rules.accepted is not None:
            flags.append((~pl.col(null) & ~rules.accepted).alias(f"__x{i}"))
            rejected.append((i, name, f"__x{i}", rules))
        if rules.parsed:
            parsed[name] = rules.parsed
    for j, (start, end) in enumerate(pairs):
        flags.append(_order_mask(start, end, parsed).alias(f"__p{j}"))
        counted[f"pair{j}"] = f"__p{j}"
        examples[f"pair{j}|ex"] = (f"__p{j}", [start, end])
    return _Plan([nulls, *prep_stages, flags], counted, examples, rules_by_col, rejected)


class _Tally:
    """Counts, first examples and what duplicate detection needs, gathered batch by batch.

    Batches come in file order, so a rule's first example is taken from the first batch that
    raises its flag and never looked for again. Of each row only its hash (and the key and its
    hash) is kept: 16 bytes a row plus the key, not the file.
    """

    def __init__(self, plan: _Plan, columns: list[str], key: str | None) -> None:
        self.plan, self.key = plan, key
        self.rows = 0
        self.counts = dict.fromkeys(plan.counted, 0)
        self.found: dict[str, object] = dict.fromkeys(plan.examples)
        for i, _, _, rules in plan.rejected:
            self.counts.update({f"{i}|{rule}": self.counts.get(f"{i}|{rule}", 0) for rule in rules.names})
            self.found.update({f"{i}|{rule}|ex": None for rule in rules.rejected
                               if not rule.startswith("layout:")})
        self.flag_names = list(dict.fromkeys([*plan.counted.values(), *(s for _, _, s, _ in plan.rejected)]))
        self.row_hashes: list[pl.Series] = []
        self.keys: list[pl.DataFrame] = []
        self.key_exprs: list[pl.Expr] = []
        if key:
            filled = ~pl.col(f"__n{columns.index(key)}")
            self.key_exprs = [pl.col(key).alias("key"),
                              pl.when(filled).then(pl.col(key).hash()).alias("key_hash")]

    def add(self, batch: pl.DataFrame) -> None:
        if not batch.height:
            return
        lf = batch.lazy()
        for stage in self.plan.stages:
            lf = lf.with_columns(stage)
        # The stages are already factored, so looking for common subexpressions only costs time.
        flags = lf.select(*self.flag_names, *self.key_exprs).collect(optimizations=_NO_CSE)
        sums = flags.select(pl.col(self.flag_names).sum()).row(0, named=True)
        for stat, flag in self.plan.counted.items():
            self.counts[stat] += sums[flag]
        for stat, (flag, quoted) in self.plan.examples.items():
            if self.found[stat] is None and sums[flag]:
                at = flags[flag].arg_true()[0]
                values = [self.rows + at + 1 if c == ROW else batch[c][at] for c in quoted]
                self.found[stat] = values[0] if len(values) == 1 else " > ".join(map(str, values))
        for i, name, selector, rules in self.plan.rejected:
            # a date the native parse accepts is never empty, so the cells neither empty nor rejected
            self.counts[f"{i}|{rules.accepted_rule}"] += batch.height - sums[f"__n{i}"] - sums[selector]
            if sums[selector]:
                self._add_rejected(i, batch[name].filter(flags[selector]).to_frame(), rules)
        self.row_hashes.append(batch.hash_rows())
        if self.key:
            self.keys.append(flags.select("key", "key_hash"))
        self.rows += batch.height

    def _add_rejected(self, i: int, cells: pl.DataFrame, rules: Rules) -> None:
        """Rules of a date field over the (non-empty) cells its native parse rejected."""
        if rules.recheck is not None:
            real = cells.select(rules.recheck).to_series()
            self.counts[f"{i}|{rules.accepted_rule}"] += real.sum()
            cells = cells.filter(~real)
            if not cells.height:
                return
        for stage in rules.rejected_prep:
            cells = cells.with_columns(**stage)
        masks = {rule: mask.fill_null(True) for rule, mask in rules.rejected.items()}
        sums = cells.select(*(mask.sum().alias(rule) for rule, mask in masks.items())).row(0, named=True)
        for rule, count in sums.items():
            self.counts[f"{i}|{rule}"] += count
            example = f"{i}|{rule}|ex"
            if count and example in self.found and self.found[example] is None:
                self.found[example] = cells.filter(masks[rule])[0, 0]

    def duplicates(self) -> tuple[int, str, int, str]:
        """Duplicate rows and keys: counts and the rows of the first repeated value."""
        hashes = pl.concat(self.row_hashes) if self.row_hashes else pl.Series([], dtype=pl.UInt64)
        dup_keys, key_example = 0, ""
        if self.key:
            keys = (pl.concat(self.keys) if self.keys
                    else pl.DataFrame(schema={"key": pl.String, "key_hash": pl.UInt64}))
            dup_keys, keys_at, key_cells = _repeats(keys["key_hash"])
            if dup_keys:
                key_example = f"{keys['key'][keys_at[0]]}（第 {'、'.join(str(r + 1) for r in keys_at)} 行）"
            # Identical rows share their key: only rows whose key repeats (or is empty) can repeat a
            # row, so the row hashes of a few rows are looked at, not those of the whole file.
            candidates = pl.concat([key_cells, keys["key_hash"].is_null().arg_true()]).sort()
            rows, rows_at, _ = _repeats(hashes.gather(candidates))
            rows_at = candidates.gather(rows_at).to_list()
        else:
            rows, rows_at, _ = _repeats(hashes)
        row_example = f"第 {'、'.join(str(r + 1) for r in rows_at)} 行相同" if rows else ""
        return rows, row_example, dup_keys, key_example


def _repeats(hashes: pl.Series) -> tuple[int, list[int], pl.Series]:
    """How many non-null values repeat an earlier one, the positions (0-based) of the first three
    cells holding the first value repeated, and the positions of every cell holding a repeated value.

    A sort finds the repeated values (far cheaper than a hash-set pass over every row); only
    the cells holding one of them are then looked at in file order.
    """
    none = pl.Series([], dtype=pl.get_index_type())
    ordered = hashes.drop_nulls().sort()
    if len(ordered) < 2:
        return 0, [], none
    later = ordered.slice(1)
    same = later == ordered.slice(0, len(ordered) - 1)
    count = int(same.sum())
    if not count:
        return 0, [], none
    at = hashes.is_in(later.filter(same).unique().implode()).arg_true()
    held = hashes.gather(at)
    first = held.filter(~held.is_first_distinct())[0]
    return count, at.filter(held == first).head(3).to_list(), at


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
    plan = _plan(columns, specs, pairs)
    tally = _Tally(plan, columns, key)
    try:
        # One streaming read; each batch is checked in memory while the next one is parsed.
        batches = lf.select(columns).collect_batches(chunk_size=max(1_000, BATCH_CELLS // len(columns)))
        for batch in batches:
            tally.add(batch)
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"Cannot read {path or 'the file'}: {str(exc).splitlines()[0]}") from exc
    row, rows = {**tally.counts, **tally.found}, tally.rows
    fields = []
    for i, name in enumerate(columns):
        fp = FieldProfile(name, normalise_type(specs.get(name, {}).get("type")),
                          nulls=row[f"{i}|nulls"], null_example_row=row[f"{i}|null_row"])
        fp.checked = rows - fp.nulls if plan.rules_by_col[name] else 0
        for rule in plan.rules_by_col[name]:
            count = row[f"{i}|{rule}"]
            if rule.startswith("layout:"):
                if count:
                    fp.date_layouts[rule.split(":", 1)[1]] = count
            elif count:
                fp.findings.append(Finding(rule, count, str(row[f"{i}|{rule}|ex"])))
        fields.append(fp)
    duplicate_rows, row_example, duplicate_keys, key_example = tally.duplicates()
    declared_names = [d["name"] for d in declared]
    return Profile(
        path=path, rows=rows, columns=columns, fields=fields,
        duplicate_rows=duplicate_rows, duplicate_row_example=row_example,
        key=key, duplicate_keys=duplicate_keys, duplicate_key_example=key_example,
        missing_fields=[n for n in declared_names if n not in columns],
        extra_columns=[c for c in columns if declared and c not in declared_names],
        order_checks=[(a, b, row[f"pair{j}"], str(row[f"pair{j}|ex"] or ""))
                      for j, (a, b) in enumerate(pairs)],
        encoding=encoding,
    )


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
