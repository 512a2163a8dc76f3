"""Reference data: agencies, the catalog, consumers, keys, applications, agreements, reports, complaints.

Files are `<table>.csv` (UTF-8 with a header) or `<table>.jsonl` in one directory;
columns are the table's columns (warehouse/migrations/0001_reference.sql) without
`updated_at`. Each value is checked against its column's type and the rules below;
a bad row goes to `rejected_rows` with the reason, good rows are upserted by id
(the tables are ReplacingMergeTree on the id, the newest load wins). The files are
small, so validation is plain Python, one value at a time.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clickhouse_connect.driver.client import Client

from ingest.validate import (
    BadValue,
    check_ip_or_network,
    parse_date,
    parse_datetime,
    parse_json_array,
    parse_text,
    parse_uint,
)
from odwatch import codes
from odwatch.errors import UserError
from warehouse.rollups import rebuild_consumer_kinds

REFERENCE_TABLES = (
    "agencies",
    "datasets",
    "consumers",
    "api_keys",
    "agreements",
    "applications",
    "usage_reports",
    "complaints",
)

TABLE_COLUMNS = """
SELECT name, type
FROM system.columns
WHERE database = currentDatabase() AND table = {table:String} AND name != 'updated_at'
ORDER BY position
"""

INSERT_REJECTED = "rejected_rows"

# Value sets of the enumerated columns, as documented in the schema.
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("agencies", "kind"): ("city_bureau", "district", "other"),
    ("datasets", "open_class"): ("unconditional", "conditional", "closed"),
    ("datasets", "format"): ("api", "csv", "json", "xml", "xlsx", "pdf", "doc", "other"),
    ("datasets", "update_frequency"): (
        "realtime",
        "daily",
        "weekly",
        "monthly",
        "quarterly",
        "yearly",
        "irregular",
    ),
    ("datasets", "status"): ("open", "suspended", "withdrawn"),
    ("consumers", "kind"): ("person", "company", "organisation"),
    ("api_keys", "status"): ("active", "restricted", "closed"),
    ("applications", "decision"): ("pending", "approved", "rejected", "not_accepted"),
    ("complaints", "subject"): ("trade_secret", "privacy", "other"),
    ("complaints", "outcome"): ("pending", "withdrawn", "restored", "reopened"),
}
# Values used when a column with a schema default is left out or empty.
DEFAULTS: dict[tuple[str, str], object] = {
    ("datasets", "version"): 1,
    ("datasets", "status"): "open",
    ("datasets", "has_sample"): 0,
    ("datasets", "row_count"): 0,
    ("api_keys", "status"): "active",
    ("agreements", "report_every_days"): 90,
    ("usage_reports", "calls_reported"): 0,
}
REQUIRED_TEXT = {
    ("agencies", "name"),
    ("datasets", "agency_id"),
    ("datasets", "name"),
    ("consumers", "name"),
    ("api_keys", "consumer_id"),
    ("applications", "consumer_id"),
    ("applications", "dataset_id"),
    ("agreements", "consumer_id"),
    ("agreements", "dataset_id"),
    ("usage_reports", "agreement_id"),
    ("complaints", "dataset_id"),
}


@dataclass
class ReferenceResult:
    """What loading one reference file did."""

    table: str
    source: str
    loaded: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def load_reference_dir(client: Client, directory: Path) -> dict[str, ReferenceResult]:
    """Load every `<table>.csv` / `<table>.jsonl` found in `directory`; one result per table found."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"No such directory: {directory}")
    results: dict[str, ReferenceResult] = {}
    for table in REFERENCE_TABLES:
        for suffix in (".csv", ".jsonl"):
            path = directory / f"{table}{suffix}"
            if path.is_file():
                results[table] = load_reference_file(client, table, path)
    if not results:
        names = ", ".join(f"{t}.csv" for t in REFERENCE_TABLES)
        raise UserError(f"No reference files in {directory}; expected some of {names} (or .jsonl).")
    return results


def load_reference_file(client: Client, table: str, path: Path) -> ReferenceResult:
    if table not in REFERENCE_TABLES:
        raise UserError(f"{table} is not a reference table; use one of {', '.join(REFERENCE_TABLES)}.")
    columns = client.query(TABLE_COLUMNS, parameters={"table": table}).result_rows
    parsers = {
        name: _column_parser(table, name, kind, index == 0) for index, (name, kind) in enumerate(columns)
    }
    result = ReferenceResult(table=table, source=str(path))
    batch_id = f"ref-{table}-{hashlib.sha256(path.read_bytes()).hexdigest()[:24]}"
    good: list[list] = []
    bad: list[list] = []
    reasons: Counter = Counter()
    for line_no, raw, record, problem in _records(path):
        try:
            if problem:
                raise BadValue(problem)
            good.append(_convert(table, record, parsers))
        except BadValue as exc:
            bad.append([batch_id, str(path), line_no, raw, str(exc)])
            reasons[_reason_kind(str(exc))] += 1
    if good:
        client.insert(table, good, column_names=list(parsers))
        if table == "consumers":
            rebuild_consumer_kinds(client)
    if bad:
        client.insert(INSERT_REJECTED, bad, column_names=["batch_id", "source", "line_no", "raw", "reason"])
    result.loaded, result.rejected, result.reasons = len(good), len(bad), dict(reasons)
    return result


def _reason_kind(reason: str) -> str:
    """A reason without its values, for counting: 'kind "alien" is not one of…' → 'kind is not one of…'."""
    reason = re.sub(r' ?"[^"]*"', "", reason)
    reason = re.sub(r"(?<!GB) -?\d[\d:.+\-]*", "", reason)
    return reason


def _convert(table: str, record: dict, parsers: dict[str, Callable[[object], object]]) -> list:
    row = [parser(record.get(name)) for name, parser in parsers.items()]
    values = dict(zip(parsers, row, strict=True))
    _check_row(table, values)
    return row


def _check_row(table: str, values: dict) -> None:
    """Rules across columns of one row."""
    if table == "consumers":
        code = values["credit_code"]
        if values["kind"] in ("company", "organisation") and not code:
            raise BadValue(f"credit_code is missing (required for {values['kind']}s)")
        if code and not codes.is_valid(code):
            raise BadValue(f'credit_code "{code}" fails the GB 32100 check character')
    if table == "agreements" and values["valid_to"] < values["valid_from"]:
        raise BadValue(f"valid_to {values['valid_to']} is before valid_from {values['valid_from']}")
    if table == "usage_reports" and values["period_end"] < values["period_start"]:
        raise BadValue(f"period_end {values['period_end']} is before period_start {values['period_start']}")
    if table == "applications" and values["decided_at"] and values["decided_at"] < values["submitted_at"]:
        raise BadValue("decided_at is before submitted_at")


def _column_parser(table: str, name: str, kind: str, is_id: bool) -> Callable[[object], object]:
    """A function that turns one cell into the column's value or raises BadValue."""
    nullable = kind.startswith("Nullable(")
    base = kind.removeprefix("Nullable(").removesuffix(")") if nullable else kind
    if base.startswith("LowCardinality("):
        base = base.removeprefix("LowCardinality(").removesuffix(")")
    default = DEFAULTS.get((table, name))

    def with_default(parse: Callable[[object], object]) -> Callable[[object], object]:
        if default is None:
            return parse
        return lambda v: default if v is None or (isinstance(v, str) and not v.strip()) else parse(v)

    if table == "datasets" and name == "fields":
        return _dataset_fields
    if table == "agreements" and name == "ip_allowlist":
        return lambda v: [check_ip_or_network(name, item) for item in parse_json_array(name, v)]
    if base.startswith("Array("):
        return lambda v: parse_json_array(name, v)
    if base.startswith("DateTime"):
        return lambda v: parse_datetime(name, v, required=not nullable)
    if base == "Date":
        return lambda v: parse_date(name, v, required=not nullable)
    if base.startswith(("UInt", "Int")):
        if name == "has_sample":
            return with_default(lambda v: _flag(name, v))
        return with_default(lambda v: parse_uint(name, v, required=default is None))
    choices = CHOICES.get((table, name), ())
    required = is_id or (table, name) in REQUIRED_TEXT or bool(choices)
    return with_default(lambda v: parse_text(name, v, required=required, choices=choices))


def _flag(name: str, value: object) -> int:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return 1
    if text in ("0", "false", "no"):
        return 0
    raise BadValue(f'{name} "{text[:20]}" is not 0/1 or true/false')


def _dataset_fields(value: object) -> str:
    """The catalog's field list: a JSON array of {name, type, description}, stored as JSON text."""
    items = parse_json_array("fields", value, of_text=False)
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise BadValue(f"fields item {position} must be an object with a name")
        for key in ("type", "description"):
            if key in item and not isinstance(item[key], str):
                raise BadValue(f"fields item {position}: {key} must be text")
    return json.dumps(items, ensure_ascii=False)


def _records(path: Path) -> Iterator[tuple[int, str, dict, str]]:
    """(line number, raw text, record, problem) per data line of a CSV or JSONL file."""
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        lines = data.split(b"\n")
        for line_no, raw in enumerate(lines, start=1):
            text, problem = _decode(raw.rstrip(b"\r"))
            if not problem and not text.strip():
                if line_no == len(lines):
                    continue  # the end of the file after its last newline
                problem = "empty line"
            record: dict = {}
            if not problem:
                try:
                    record = json.loads(text)
                    if not isinstance(record, dict):
                        problem, record = "the line is not a JSON object", {}
                except ValueError:
                    problem = "truncated or malformed JSON"
            yield line_no, text, record, problem
        return
    text, problem = _decode(data)
    if problem:
        # Find the bad lines; the rest of the file is still read.
        text = data.decode("utf-8", "replace")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    lines = text.lstrip("\ufeff").splitlines()
    for cells in reader:
        line_no = reader.line_num
        raw = lines[line_no - 1] if line_no - 1 < len(lines) else ""
        bad = "\ufffd" in raw and problem
        if not cells or all(not c.strip() for c in cells):
            yield line_no, raw, {}, "empty line"
        elif bad:
            yield line_no, raw, {}, "the line is not valid UTF-8 text"
        elif len(cells) != len(header):
            yield line_no, raw, {}, f"row has {len(cells)} cells, the header has {len(header)}"
        else:
            yield line_no, raw, dict(zip(header, cells, strict=True)), ""


def _decode(data: bytes) -> tuple[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), "the line is not valid UTF-8 text"
    if "\x00" in text:
        return text.replace("\x00", ""), "the line contains a NUL byte"
    return text, ""
