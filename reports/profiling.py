"""Profile a dataset file with polars: the evidence behind the content quality dimensions.

A file (CSV, XLSX, JSON / JSON Lines, Parquet; CSV and JSON in UTF-8 or GBK) is read
lazily with every column as text, and one streaming aggregation counts, per field,
empty cells, values that do not fit the field's declared type, unified social credit
codes failing the GB 32100 checksum and impossible dates, plus duplicate rows and
keys. Memory stays bounded by the streaming engine; only counts and one example per
finding come back.
"""

from __future__ import annotations

import codecs
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from odwatch.errors import UserError

SUPPORTED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson", ".parquet"}

# Cell contents that mean "no value" in published Chinese government data.
NULL_TOKENS = ["", "null", "NULL", "Null", "None", "none", "N/A", "n/a", "NA", "NaN", "nan", "-", "—"]

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

# Date layouts accepted as valid; a column mixing several is a consistency finding.
DATE_LAYOUTS = {
    "yyyy-mm-dd": r"^(\d{4})-(\d{1,2})-(\d{1,2})",
    "yyyy/mm/dd": r"^(\d{4})/(\d{1,2})/(\d{1,2})",
    "yyyy年m月d日": r"^(\d{4})年(\d{1,2})月(\d{1,2})日",
    "yyyymmdd": r"^(\d{4})(\d{2})(\d{2})",
}
DATE_TAIL = r"$"
DATETIME_TAIL = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
YEAR_RANGE = (1900, 2100)

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
    return bool(re.match(CREDIT_SHAPE, code or "")) and code[17] == credit_check_char(code)


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


def _text(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars()


def _is_null(name: str) -> pl.Expr:
    return pl.col(name).is_null() | _text(name).is_in(NULL_TOKENS)


def _example(name: str, bad: pl.Expr) -> pl.Expr:
    return pl.col(name).filter(bad).first()


def _date_checks(name: str, with_time: bool) -> dict[str, pl.Expr]:
    """Masks for bad format and impossible dates, and one count per layout used."""
    value = _text(name)
    tail = DATETIME_TAIL if with_time else DATE_TAIL
    shaped = pl.lit(False)
    year = month = day = None
    layouts = {}
    for layout, head in DATE_LAYOUTS.items():
        pattern = head + tail
        matches = value.str.contains(pattern)
        layouts[layout] = matches
        shaped = shaped | matches
        parts = value.str.extract_groups(pattern)
        year = parts.struct.field("1") if year is None else pl.coalesce(year, parts.struct.field("1"))
        month = parts.struct.field("2") if month is None else pl.coalesce(month, parts.struct.field("2"))
        day = parts.struct.field("3") if day is None else pl.coalesce(day, parts.struct.field("3"))
    y, m, d = (e.cast(pl.Int32, strict=False) for e in (year, month, day))
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = (pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28))
                  .when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31))
    possible = ((y >= YEAR_RANGE[0]) & (y <= YEAR_RANGE[1]) & (m >= 1) & (m <= 12)
                & (d >= 1) & (d <= month_days))
    if with_time:
        clock = value.str.extract_groups(r"[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")
        hh = clock.struct.field("1").cast(pl.Int32, strict=False).fill_null(0)
        mm = clock.struct.field("2").cast(pl.Int32, strict=False).fill_null(0)
        ss = clock.struct.field("3").cast(pl.Int32, strict=False).fill_null(0)
        possible = possible & (hh < 24) & (mm < 60) & (ss < 60)
    return {"format": ~shaped, "impossible_date": shaped & ~possible.fill_null(False), **{
        f"layout:{k}": v for k, v in layouts.items()}}


def _credit_checks(name: str) -> dict[str, pl.Expr]:
    value = _text(name)
    shaped = value.str.contains(CREDIT_SHAPE)
    mapping = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}
    total = pl.sum_horizontal(
        value.str.slice(i, 1).replace_strict(mapping, default=0, return_dtype=pl.Int32) * w
        for i, w in enumerate(CREDIT_WEIGHTS)
    )
    check = value.str.slice(17, 1).replace_strict(mapping, default=-1, return_dtype=pl.Int32)
    return {"format": ~shaped, "checksum": shaped & (check != (31 - total % 31) % 31)}


def rule_masks(name: str, spec: dict) -> dict[str, pl.Expr]:
    """Per rule, a mask true for non-empty cells breaking it, for a field of this declared spec."""
    kind = normalise_type(spec.get("type"))
    value = _text(name)
    masks: dict[str, pl.Expr] = {}
    if kind == "integer":
        masks["type"] = value.str.replace_all(",", "").cast(pl.Int64, strict=False).is_null()
    elif kind == "number":
        masks["type"] = value.str.replace_all(",", "").cast(pl.Float64, strict=False).is_null()
    elif kind in ("date", "datetime"):
        masks = _date_checks(name, with_time=kind == "datetime")
    elif kind == "boolean":
        masks["value_set"] = ~value.is_in(BOOLEAN_VALUES)
    elif kind == "credit_code":
        masks = _credit_checks(name)
    values = spec.get("values")
    if isinstance(values, list) and values:
        masks["value_set"] = ~value.is_in([str(v) for v in values])
    return masks


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


def _stat_exprs(columns: list[str], specs: dict[str, dict], key: str | None,
                pairs: list[tuple[str, str]]) -> tuple[list[pl.Expr], dict[str, dict[str, pl.Expr]]]:
    exprs: list[pl.Expr] = [pl.len().alias("rows")]
    masks_by_col: dict[str, dict[str, pl.Expr]] = {}
    for i, name in enumerate(columns):
        null = _is_null(name)
        exprs += [null.sum().alias(f"{i}|nulls"), pl.col(ROW).filter(null).first().alias(f"{i}|null_row")]
        masks = rule_masks(name, specs.get(name, {}))
        masks_by_col[name] = masks
        if masks:
            exprs.append((~null).sum().alias(f"{i}|checked"))
        for rule, mask in masks.items():
            bad = ~null & mask.fill_null(True)
            exprs.append(bad.sum().alias(f"{i}|{rule}"))
            if not rule.startswith("layout:"):
                exprs.append(_example(name, bad).alias(f"{i}|{rule}|ex"))
    exprs.append(pl.struct([pl.col(c) for c in columns]).hash().n_unique().alias("distinct_rows"))
    if key:
        filled = pl.col(key).filter(~_is_null(key))
        exprs += [filled.len().alias("key_filled"), filled.n_unique().alias("key_distinct")]
    for j, (start, end) in enumerate(pairs):
        disorder = _order_mask(start, end, specs)
        exprs += [disorder.sum().alias(f"pair{j}"),
                  pl.concat_str([pl.col(start), pl.col(end)], separator=" > ").filter(disorder).first()
                  .alias(f"pair{j}|ex")]
    return exprs, masks_by_col


def _order_mask(start: str, end: str, specs: dict[str, dict]) -> pl.Expr:
    """Rows whose start comes after their end (both parsable as dates or as numbers)."""
    def as_key(name: str) -> pl.Expr:
        digits = _text(name).str.replace_all(r"[年月/\-]", "-").str.replace_all("日", "")
        return digits.str.to_date("%Y-%m-%d", strict=False)
    s, e = as_key(start), as_key(end)
    return (s > e).fill_null(False)


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
    exprs, masks_by_col = _stat_exprs(columns, specs, key, pairs)
    if ROW not in lf.collect_schema().names():
        lf = lf.with_row_index(ROW, offset=1)
    try:
        stats = lf.select(exprs).collect(engine="streaming").row(0, named=True)
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"Cannot read {path or 'the file'}: {str(exc).splitlines()[0]}") from exc
    rows = int(stats["rows"])
    fields = []
    for i, name in enumerate(columns):
        fp = FieldProfile(name, normalise_type(specs.get(name, {}).get("type")),
                          nulls=int(stats[f"{i}|nulls"]), null_example_row=stats[f"{i}|null_row"])
        fp.checked = int(stats.get(f"{i}|checked") or 0)
        for rule in masks_by_col[name]:
            count = int(stats[f"{i}|{rule}"] or 0)
            if rule.startswith("layout:"):
                if count:
                    fp.date_layouts[rule.split(":", 1)[1]] = count
            elif count:
                fp.findings.append(Finding(rule, count, str(stats[f"{i}|{rule}|ex"])))
        fields.append(fp)
    key_dupes = 0
    key_example = ""
    if key:
        key_dupes = int(stats["key_filled"]) - int(stats["key_distinct"])
        if key_dupes:
            key_example = _duplicate_key_example(lf, key)
    declared_names = [d["name"] for d in declared]
    return Profile(
        path=path, rows=rows, columns=columns, fields=fields,
        duplicate_rows=rows - int(stats["distinct_rows"]) if rows else 0,
        key=key, duplicate_keys=key_dupes, duplicate_key_example=key_example,
        missing_fields=[n for n in declared_names if n not in columns],
        extra_columns=[c for c in columns if declared and c not in declared_names],
        order_checks=[(a, b, int(stats[f"pair{j}"]), str(stats[f"pair{j}|ex"] or ""))
                      for j, (a, b) in enumerate(pairs)],
        encoding=encoding,
    )


def _duplicate_key_example(lf: pl.LazyFrame, key: str) -> str:
    """One key value that occurs more than once (a second, key-only pass; only when there are dupes)."""
    found = (lf.select(pl.col(key)).filter(~_is_null(key)).group_by(key).len()
             .filter(pl.col("len") > 1).head(1).collect(engine="streaming"))
    return "" if found.is_empty() else f"{found[key][0]} ×{found['len'][0]}"


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
