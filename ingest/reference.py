"""Reference data: agencies, the catalog, consumers, keys, applications, agreements, reports, complaints.

A folder holds the files, in the contract's form (`<table>.csv`, UTF-8 with a header, or
`<table>.jsonl`) or as a platform exports them: any file name, Chinese or other headers and
values, GBK. Which table a file holds comes from a mapping file, its name, or its columns;
its columns and values are put onto the contract by ingest.mapping. Each value is checked
against its column's type and the rules below; a bad row goes to `rejected_rows` with the
reason, good rows are upserted by id (the tables are ReplacingMergeTree on the id, the newest
load wins). An absent column takes its documented default (ingest.contract), counted.

Rows that name a dataset and its agency are held to the catalog: the dataset's owner is the
agency (第九条: the agency that opens a dataset is its 数据开放主体), so a different agency_id
is corrected to the owner and counted, not rejected: a complaint about agency A's dataset
filed under agency B is still a complaint A must see, and agency scope follows the owner.

The files are small, so validation is plain Python, one value at a time.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from clickhouse_connect.driver.client import Client

from ingest.contract import DEFAULTS, REFERENCE_COLUMNS, REFERENCE_TABLES, is_required
from ingest.mapping import (
    FileReport,
    Mapping,
    Vocabulary,
    enumerated,
    guess_table,
    normalise,
    plan_columns,
    vocabulary,
)
from ingest.readers import (
    DEFAULT_LIMITS,
    TITLE_LINE,
    Limits,
    SourceStopped,
    bounded_lines,
    csv_rows,
    detect_encoding,
    file_columns,
    open_source,
    split_header,
    too_long,
    undecodable,
)
from ingest.validate import (
    BadValue,
    check_ip_or_network,
    parse_date,
    parse_datetime,
    parse_json_array,
    parse_text,
    parse_uint,
    split_list,
)
from odwatch import codes
from odwatch.clock import SHANGHAI
from odwatch.errors import UserError
from warehouse.rollups import rebuild_consumer_kinds

INSERT_REJECTED = "rejected_rows"
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
SPREADSHEETS = (".xlsx", ".xls", ".et", ".ods")      # exported as often as CSV; named, not skipped
UNPLACED = "(not loaded)"   # the result holding the files whose table could not be told
UINT_MAX = {"UInt8": 2**8 - 1, "UInt16": 2**16 - 1, "UInt32": 2**32 - 1, "UInt64": 2**64 - 1}
DEFAULT_STORED_PER_REASON = 1000

CATALOG_OWNERS = "SELECT dataset_id, agency_id FROM datasets FINAL"
CATALOG_AGENCIES = "SELECT agency_id, name, name_en FROM agencies FINAL"
CATALOG_AGREEMENTS = "SELECT agreement_id, consumer_id, dataset_id FROM agreements FINAL"
CATALOG_CONSUMERS = "SELECT consumer_id FROM consumers FINAL"

# Tables whose rows are one per id (the first column): a file giving an id twice loads the later row.
# (An agency's opening plans are one per year: their own check, in _hold_to_catalog.)
ONE_ROW_PER_ID = tuple(t for t in REFERENCE_TABLES if t != "opening_plans")

# The references a table's rows make that the catalog should hold (flagged, not rejected).
UNKNOWN_REFERENCES = {
    "datasets": ("agency_id",),
    "agreements": ("consumer_id", "dataset_id"),
    "api_keys": ("consumer_id",),
    "applications": ("consumer_id", "dataset_id"),
    "complaints": ("dataset_id",),
}

# Kinds of correction, as the summary counts them.
OPEN_CLASS_IN_CONDITIONS = "open_class read from the conditions column (an open-class word)"
NAMED_AGENCY = "agency_id was an agency's name: its id used"
NOT_OWNER = "agency_id was not the dataset's owner: the owner used"
NOT_AGREEMENTS = "{column} was not the agreement's: the agreement's used"


# A dataset offered in several formats ("xls,csv,json", "CSV/XLSX") is as open as the best of them
# (the contract lists formats from the most open, api, down); one in a format the contract does not
# know is `other`, reported as an unmapped value: it loses openness points, not its catalog row.
BEST_OF_LIST = {("datasets", "format"): "other"}

@dataclass
class ReferenceResult:
    """What loading one table's file(s) did (or, in a dry run, would do)."""

    table: str
    source: str
    loaded: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    defaulted: dict[str, int] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)
    files: list[FileReport] = field(default_factory=list)

    def add(self, report: FileReport) -> None:
        self.files.append(report)
        self.loaded += report.loaded
        self.rejected += report.rejected
        for kind in ("reasons", "defaulted", "corrected", "unmatched"):
            counts = getattr(self, kind)
            for key, count in getattr(report, kind).items():
                counts[key] = counts.get(key, 0) + count


@dataclass
class Catalog:
    """What the warehouse (and the files loaded before, in this run) say about ownership."""

    owners: dict[str, str] = field(default_factory=dict)            # dataset_id -> agency_id
    agency_ids: set[str] = field(default_factory=set)
    agency_names: dict[str, str] = field(default_factory=dict)      # normalised name -> agency_id
    agreements: dict[str, tuple[str, str]] = field(default_factory=dict)  # -> (consumer_id, dataset_id)
    consumer_ids: set[str] = field(default_factory=set)
    checked: bool = True          # False: no engine to ask (a dry run while `odwatch serve` holds it)

    @classmethod
    def read(cls, client: Client | None) -> Catalog:
        catalog = cls(checked=client is not None)
        if client is None:
            return catalog
        catalog.owners = dict(client.query(CATALOG_OWNERS).result_rows)
        for agency_id, name, name_en in client.query(CATALOG_AGENCIES).result_rows:
            catalog.learn_agency(agency_id, name, name_en)
        catalog.agreements = {a: (c, d) for a, c, d in client.query(CATALOG_AGREEMENTS).result_rows}
        catalog.consumer_ids = {c for (c,) in client.query(CATALOG_CONSUMERS).result_rows}
        return catalog

    def learn_agency(self, agency_id: str, *names: str) -> None:
        self.agency_ids.add(agency_id)
        for name in names:
            if name:
                self.agency_names.setdefault(normalise(name), agency_id)

    def learn(self, table: str, row: dict) -> None:
        if table == "agencies":
            self.learn_agency(row["agency_id"], row["name"], row["name_en"])
        elif table == "datasets":
            self.owners[row["dataset_id"]] = row["agency_id"]
        elif table == "agreements":
            self.agreements[row["agreement_id"]] = (row["consumer_id"], row["dataset_id"])
        elif table == "consumers":
            self.consumer_ids.add(row["consumer_id"])


@dataclass
class _Found:
    table: str
    path: Path
    found_by: str


def load_reference_dir(
    client: Client | None,
    directory: Path,
    *,
    mapping: Mapping | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    stored_per_reason: int = DEFAULT_STORED_PER_REASON,
) -> dict[str, ReferenceResult]:
    """Load every reference file found in `directory`, tables in dependency order (agencies and the
    catalog first); one result per table found. `dry_run` reads and checks everything and loads
    nothing (`client` may then be None: the catalog checks are skipped)."""
    found, unplaced = find_reference_files(directory, mapping, encoding)
    if not found:
        names = ", ".join(f"{t}.csv" for t in REFERENCE_TABLES)
        detail = "; ".join(f"{r.path}: {r.problem}" for r in unplaced)
        raise UserError(f"No reference files in {directory}; expected some of {names} (or .jsonl), "
                        f"or exports whose columns name a table{': ' + detail if detail else ''}.")
    check_defaults(mapping)
    catalog = Catalog.read(client)
    results: dict[str, ReferenceResult] = {}
    for item in found:
        report = load_reference_file(client, item.table, item.path, mapping=mapping, encoding=encoding,
                                     dry_run=dry_run, catalog=catalog, found_by=item.found_by,
                                     limits=limits, stored_per_reason=stored_per_reason)
        results.setdefault(item.table, ReferenceResult(item.table, str(item.path))).add(report)
    if unplaced:
        results[UNPLACED] = ReferenceResult(UNPLACED, str(directory), files=unplaced)
    return results


def find_reference_files(directory: Path, mapping: Mapping | None,
                         encoding: str | None) -> tuple[list[_Found], list[FileReport]]:
    """The reference files of a folder with their tables, in load order; and the files whose table
    could not be told (with the reason)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"No such directory: {directory}")
    found: list[_Found] = []
    unplaced: list[FileReport] = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        table, found_by = _table_of(path, mapping, encoding)
        if table:
            found.append(_Found(table, path, found_by))
        elif _suffix(path) in SPREADSHEETS:
            unplaced.append(FileReport(str(path), problem="a spreadsheet is not read: save it as CSV "
                                                          "(UTF-8) in this folder and load again"))
        elif _suffix(path) in SUFFIXES:
            problem = ("its columns look like an access log: load it with `odwatch ingest`"
                       if found_by == "log" else
                       "its name and columns match no reference table; name it in a mapping file "
                       "([<table>] files = [...])")
            unplaced.append(FileReport(str(path), problem=problem))
    found.sort(key=lambda f: (REFERENCE_TABLES.index(f.table), f.path.name))
    return found, unplaced


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _table_of(path: Path, mapping: Mapping | None, encoding: str | None) -> tuple[str, str]:
    if mapping is not None:
        for table, table_mapping in mapping.tables.items():
            if table in REFERENCE_TABLES and any(fnmatch.fnmatch(path.name, p) for p in table_mapping.files):
                return table, "mapping file"
    suffix = _suffix(path)
    if suffix not in SUFFIXES:
        return "", ""
    stem = path.name[: path.name.lower().index(suffix)]
    if stem in REFERENCE_TABLES and suffix in (".csv", ".jsonl"):
        return stem, "file name"
    header = file_columns(path, SUFFIXES[suffix], encoding or detect_encoding(path))
    table = guess_table(header, mapping)
    if table == "access_log":
        return "", "log"
    return (table, "columns") if table else ("", "")


def check_defaults(mapping: Mapping | None) -> None:
    """Every default a mapping file gives must be a value of its column: checked before anything loads."""
    if mapping is None:
        return
    for table, table_mapping in mapping.tables.items():
        if table not in REFERENCE_TABLES:
            continue
        parsers = _parsers(table, vocabulary(table, table_mapping), set())
        for column, value in table_mapping.defaults.items():
            try:
                parsers[column](value)
            except BadValue as exc:
                raise UserError(f"{mapping.source}: {table}.defaults: {column}: {exc}") from None


def load_reference_file(
    client: Client | None,
    table: str,
    path: Path,
    *,
    mapping: Mapping | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    catalog: Catalog | None = None,
    found_by: str = "file name",
    limits: Limits = DEFAULT_LIMITS,
    stored_per_reason: int = DEFAULT_STORED_PER_REASON,
) -> FileReport:
    """Load one file of one table; the report says what happened to every row."""
    if table not in REFERENCE_TABLES:
        raise UserError(f"{table} is not a reference table; use one of {', '.join(REFERENCE_TABLES)}.")
    path = Path(path)
    catalog = catalog if catalog is not None else Catalog.read(client)
    fmt = SUFFIXES.get(_suffix(path), "csv")
    encoding = encoding or detect_encoding(path)
    report = FileReport(str(path), table, found_by, fmt, encoding)
    vocab = vocabulary(table, mapping.table(table) if mapping else None)
    plan = plan_columns(table, file_columns(path, fmt, encoding), vocab)
    report.use_plan(plan)
    renamed = {p.column for p in plan.placements if p.how in ("alias", "mapping")}
    converter = _RowConverter(table, vocab, renamed, catalog, report)
    batch_id = f"ref-{table}-{_file_digest(path)}"
    good: list[list] = []
    bad: list[list] = []
    stored: dict[str, int] = {}
    id_column = REFERENCE_COLUMNS[table][0][0]
    seen: dict[object, tuple[int, int, str]] = {}     # id -> (its place in good, line, text)

    def reject(line_no: int, raw: str, reason: str) -> None:
        kind = _reason_kind(reason)
        report.count("reasons", kind)
        report.rejected += 1
        if reason.startswith("stopped:"):
            report.stopped = reason
        if stored.get(kind, 0) < stored_per_reason:   # the rest are counted, not stored
            stored[kind] = stored.get(kind, 0) + 1
            bad.append([batch_id, str(path), line_no, raw, reason])

    for line_no, raw, record, problem in _records(path, fmt, encoding, limits):
        report.read += 1
        try:
            if problem:
                raise BadValue(problem)
            row = converter.convert(plan.rename(record))
        except BadValue as exc:
            reject(line_no, raw, str(exc))
            continue
        catalog.learn(table, row)
        key = row[id_column] if table in ONE_ROW_PER_ID else None
        if key in seen:
            # As a second load of the file would: the later row stands, and the earlier is accounted for.
            place, earlier_line, earlier_raw = seen[key]
            reject(earlier_line, earlier_raw,
                   f'{id_column} "{key}" is given again later in this file: the later row is loaded')
            good[place] = list(row.values())
            seen[key] = (place, line_no, raw)
            continue
        if key is not None:
            seen[key] = (len(good), line_no, raw)
        good.append(list(row.values()))
    report.loaded = len(good)
    if not dry_run and client is not None:
        if good:
            client.insert(table, good, column_names=[name for name, _ in REFERENCE_COLUMNS[table]])
            if table == "consumers":
                rebuild_consumer_kinds(client)
        if bad:
            client.insert(INSERT_REJECTED, bad,
                          column_names=["batch_id", "source", "line_no", "raw", "reason"])
    return report


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()[:24]


def _reason_kind(reason: str) -> str:
    """A reason without its values, for counting: 'kind "alien" is not one of…' → 'kind is not one of…'.
    Every value a reason quotes is in double quotes; numbers outside them are the rule's own."""
    if reason.startswith("stopped:"):
        return reason
    return re.sub(r':? ?"[^"]*"', "", reason)


# --------------------------------------------------------------------------- one row


class _RowConverter:
    """A record in contract names → the table's row: values mapped and parsed, defaults taken (and
    counted), rules across columns checked, ownership held to the catalog."""

    def __init__(self, table: str, vocab: Vocabulary, renamed: set[str], catalog: Catalog,
                 report: FileReport) -> None:
        self.table = table
        self.vocab = vocab
        self.catalog = catalog
        self.report = report
        self.columns = REFERENCE_COLUMNS[table]
        self.parsers = _parsers(table, vocab, renamed)
        self.enumerated = [name for name, _ in self.columns if name in vocab.values]
        self.plans_seen: set[tuple[str, int]] = set()

    def convert(self, record: dict) -> dict:
        """The row, or BadValue; the defaults and corrections of a row are counted once it is good."""
        self.pending: list[tuple[str, str]] = []
        row = self._convert(record)
        for kind, key in self.pending:
            self.report.count(kind, key)
        return row

    def _open_class_from_conditions(self, record: dict) -> None:
        """Some catalogs write the open class under 开放条件, a name our aliases give the conditions:
        a conditions cell that is an open-class word (无条件开放, 不予开放) is the open class."""
        conditions = record.get("conditions")
        if isinstance(conditions, str):
            open_class, known = self.vocab.map_value("open_class", conditions)
            if known and open_class in enumerated("datasets", "open_class"):
                record["open_class"], record["conditions"] = open_class, ""
                self._count("corrected", OPEN_CLASS_IN_CONDITIONS)

    def _best_of_list(self, name: str, value: object) -> tuple[object, bool]:
        """The first in the contract's order of the known values listed in `value` ("xls,csv,json")."""
        choices = enumerated(self.table, name)
        # split_list's separators, and the slash of "CSV/XLSX"
        found = {self.vocab.map_value(name, item) for item in split_list(str(value).replace("/", ","))}
        known = [mapped for mapped, ok in found if ok and mapped in choices]
        return (min(known, key=choices.index), True) if known else (BEST_OF_LIST[self.table, name], False)

    def _count(self, kind: str, key: str) -> None:
        self.pending.append((kind, key))

    def _convert(self, record: dict) -> dict:
        if self.table == "datasets" and _is_missing(record.get("open_class")):
            self._open_class_from_conditions(record)
        for name in self.enumerated:
            if name in record:
                mapped, known = self.vocab.map_value(name, record[name])
                if not known and (self.table, name) in BEST_OF_LIST:
                    mapped, known = self._best_of_list(name, record[name])
                if not known:
                    self.report.unmapped(name, record[name])
                record[name] = mapped
        row: dict = {}
        derived: list[str] = []
        for name, _ in self.columns:
            value = record.get(name)
            if _is_missing(value):
                default = DEFAULTS.get((self.table, name))
                if name in self.vocab.defaults:
                    value = self.vocab.defaults[name]
                    self._count("defaulted", name)
                elif default is not None and default.derived:
                    derived.append(name)
                    continue
                elif default is not None:
                    value = default.value
                    self._count("defaulted", name)
                elif is_required(self.table, name):
                    raise BadValue(f"{name} is missing")
            row[name] = self.parsers[name](value)
        for name in derived:
            row[name] = self._derive(name, row)
        row = {name: row[name] for name, _ in self.columns}     # in the insert's column order
        _check_row(self.table, row)
        self._hold_to_catalog(row)
        return row

    def _derive(self, name: str, row: dict) -> object:
        """A default taken from the row itself (see ingest.contract.DEFAULTS)."""
        table = self.table
        value: object = ""
        if name == "name":
            value = row[self.columns[0][0]]
        elif table == "consumers" and name == "kind":
            code = row["credit_code"]
            value = "person" if not code else "company" if code.startswith("9") else "organisation"
        elif name == "signed_at":
            value = datetime.combine(row["valid_from"], time(0), SHANGHAI)
        elif name == "agency_id":
            value = self.catalog.owners.get(row["dataset_id"], "")
        elif table == "usage_reports":
            consumer, dataset = self.catalog.agreements.get(row["agreement_id"], ("", ""))
            value = consumer if name == "consumer_id" else dataset
        if value != "":
            self._count("defaulted", name)
        return value

    def _hold_to_catalog(self, row: dict) -> None:
        catalog = self.catalog
        if "agency_id" in row and row["agency_id"] and row["agency_id"] not in catalog.agency_ids:
            by_name = catalog.agency_names.get(normalise(row["agency_id"]))
            if by_name:
                row["agency_id"] = by_name
                self._count("corrected", NAMED_AGENCY)
        if self.table == "opening_plans":
            # A plan for an agency the catalog does not know could never be scored: say so now.
            if row["agency_id"] not in catalog.agency_ids:
                raise BadValue(f'agency_id "{row["agency_id"]}" is no agency of the catalog (by id or name)')
            plan = (row["agency_id"], row["year"])
            if plan in self.plans_seen:
                raise BadValue(f'a second plan of "{row["agency_id"]}" for the same year in one file')
            self.plans_seen.add(plan)
        if self.table in ("applications", "complaints"):
            owner = catalog.owners.get(row["dataset_id"])
            if owner and row["agency_id"] and row["agency_id"] != owner:
                row["agency_id"] = owner
                self._count("corrected", NOT_OWNER)
            elif owner and not row["agency_id"]:
                row["agency_id"] = owner
                self._count("defaulted", "agency_id")
        if self.table == "usage_reports" and row["agreement_id"] in catalog.agreements:
            for name, value in zip(("consumer_id", "dataset_id"), catalog.agreements[row["agreement_id"]],
                                   strict=True):
                if row[name] and row[name] != value:
                    row[name] = value
                    self._count("corrected", NOT_AGREEMENTS.format(column=name))
        self._flag_unknown_references(row)

    def _flag_unknown_references(self, row: dict) -> None:
        """Count (and keep) references to agencies, datasets and consumers the catalog does not hold:
        an export cut at a different moment is common, and the row is still worth having, but the
        official reading the summary must see that the figures built on it are incomplete."""
        catalog = self.catalog
        known = {"agency_id": catalog.agency_ids, "dataset_id": catalog.owners.keys(),
                 "consumer_id": catalog.consumer_ids}
        for column in UNKNOWN_REFERENCES.get(self.table, ()):
            ids = known[column]
            if row[column] and ids and row[column] not in ids:
                self._count("unmatched", f"{column} not in the catalog (row kept)")


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


PLURALS = {"company": "companies", "organisation": "organisations", "person": "persons"}


def _check_row(table: str, values: dict) -> None:
    """Rules across columns of one row."""
    if table == "consumers":
        code = values["credit_code"]
        if values["kind"] in ("company", "organisation") and not code:
            raise BadValue(f"credit_code is missing (required for {PLURALS[values['kind']]})")
        if code and not codes.is_valid(code):
            raise BadValue(f'credit_code "{code}" fails the GB 32100 check character')
    if table == "agreements" and values["valid_to"] < values["valid_from"]:
        valid_to, valid_from = values["valid_to"], values["valid_from"]
        raise BadValue(f'valid_to "{valid_to}" is before valid_from "{valid_from}"')
    if table == "usage_reports" and values["period_end"] < values["period_start"]:
        period_end, period_start = values["period_end"], values["period_start"]
        raise BadValue(f'period_end "{period_end}" is before period_start "{period_start}"')
    if table == "applications" and values["decided_at"] and values["decided_at"] < values["submitted_at"]:
        raise BadValue("decided_at is before submitted_at")


def _parsers(table: str, vocab: Vocabulary, renamed: set[str]) -> dict[str, Callable[[object], object]]:
    """A function per column that turns one present value into the column's value or raises BadValue.
    A list column found under another name (`renamed`) also takes text lists ("a、b")."""
    return {name: _column_parser(table, name, kind, name in renamed)
            for name, kind in REFERENCE_COLUMNS[table]}


def _column_parser(table: str, name: str, kind: str, lenient: bool) -> Callable[[object], object]:
    nullable = kind.startswith("Nullable(")
    base = kind.removeprefix("Nullable(").removesuffix(")") if nullable else kind
    if base.startswith("LowCardinality("):
        base = base.removeprefix("LowCardinality(").removesuffix(")")
    if table == "datasets" and name == "fields":
        return lambda v: _dataset_fields(v, lenient)
    if table == "agreements" and name == "ip_allowlist":
        return lambda v: [check_ip_or_network(name, item)
                          for item in parse_json_array(name, v, lenient=lenient)]
    if base.startswith("Array("):
        return lambda v: parse_json_array(name, v, lenient=lenient)
    if base.startswith("DateTime"):
        return lambda v: parse_datetime(name, v, required=not nullable)
    if base == "Date":
        return lambda v: parse_date(name, v)
    if base in UINT_MAX:
        if name == "has_sample":
            return lambda v: _flag(name, v)
        return lambda v: parse_uint(name, v, maximum=UINT_MAX[base])
    choices = enumerated(table, name)
    return lambda v: parse_text(name, v, choices=choices)


def _flag(name: str, value: object) -> int:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return 1
    if text in ("0", "false", "no"):
        return 0
    raise BadValue(f'{name} "{text[:20]}" is not 0/1 or true/false')


def _dataset_fields(value: object, lenient: bool = False) -> str:
    """The catalog's field list: a JSON array of {name, type, description}, stored as JSON text.
    Found under another name, a plain list of field names ("企业名称、地址") is taken too."""
    if _is_missing(value):
        return "[]"
    items = parse_json_array("fields", value, of_text=False, lenient=lenient)
    items = [{"name": item} if lenient and isinstance(item, str) and item else item for item in items]
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise BadValue(f'fields item "{position}" must be an object with a name')
        for key in ("type", "description"):
            if key in item and not isinstance(item[key], str):
                raise BadValue(f'fields item "{position}": {key} must be text')
    return json.dumps(items, ensure_ascii=False)


# --------------------------------------------------------------------------- reading a file


def _records(path: Path, fmt: str, encoding: str, limits: Limits) -> Iterator[tuple[int, str, dict, str]]:
    """(line number, raw text, record, problem) per data row of a CSV or JSONL file. A file that
    cannot be read on ends with one row whose problem says why."""
    last = 0
    try:
        with open_source(path, limits) as handle:
            read = _csv_records if fmt == "csv" else _json_records
            rows = read(handle, encoding, limits)
            for item in rows:
                last = item[0]
                yield item
    except SourceStopped as stop:
        yield last + 1, "", {}, str(stop)
    except Exception as exc:  # noqa: BLE001 - a reader error is a rejected row, never an aborted load
        reason = f"stopped: the file could not be read on from here ({type(exc).__name__}: {exc})"
        yield last + 1, "", {}, reason[:500]


def _text(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, "replace")


def _csv_records(handle, encoding: str, limits: Limits) -> Iterator[tuple[int, str, dict, str]]:
    title, header_row, rows = split_header(csv_rows(handle, encoding, limits.max_line_bytes))
    if title is not None:
        yield title.line_no, _text(title.raw, encoding), {}, TITLE_LINE
    if header_row is None:
        return
    if header_row.cells is None:
        raise SourceStopped(f"stopped: the first line is not a CSV header ({header_row.problem})")
    header = header_row.cells      # as written: the column plan matches them loosely
    for row in rows:
        raw = _text(row.raw, encoding)
        if row.cells is None:
            yield row.line_no, raw, {}, row.problem
        elif not row.cells or all(not c.strip() for c in row.cells):
            yield row.line_no, raw, {}, "empty line"
        elif len(row.cells) != len(header):
            width = f'than the header ({len(header)}): "{len(row.cells)}"'
            yield row.line_no, raw, {}, f"row has a different number of cells {width}"
        elif "\x00" in raw:
            yield row.line_no, raw.replace("\x00", ""), {}, "the line contains a NUL byte"
        else:
            yield row.line_no, raw, dict(zip(header, row.cells, strict=True)), ""


def _json_records(handle, encoding: str, limits: Limits) -> Iterator[tuple[int, str, dict, str]]:
    for line_no, (raw, cut) in enumerate(bounded_lines(handle, limits.max_line_bytes), start=1):
        if cut:
            yield line_no, _text(raw, encoding), {}, too_long(limits.max_line_bytes)
            continue
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            yield line_no, _text(raw, encoding), {}, undecodable(encoding)
            continue
        if line_no == 1:
            text = text.removeprefix("\ufeff")
        if "\x00" in text:
            yield line_no, text.replace("\x00", ""), {}, "the line contains a NUL byte"
        elif not text.strip():
            yield line_no, text, {}, "empty line"
        else:
            yield (line_no, text, *_json_record(text))


def _json_record(text: str) -> tuple[dict, str]:
    try:
        record = json.loads(text)
    except RecursionError:
        return {}, "the line is nested too deeply"
    except ValueError:
        return {}, "truncated or malformed JSON"
    if not isinstance(record, dict):
        return {}, "the line is not a JSON object"
    return record, ""
