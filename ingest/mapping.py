"""Column and value mapping: a platform's own exports and logs put onto the input contract.

A file's header is matched column by column against its table's contract columns
(ingest.contract): under the contract's name, under a built-in alias (ingest/aliases.toml:
the Chinese and English names real exports use) or as a mapping file says. `normalise`
makes every comparison ignore case, whitespace and separators, full-width forms, a
byte-order mark and a "(必填)" note. Enumerated values are matched the same way.

A `FileReport` says what was placed where, what was not (with the closest contract
column), which values found no match and how the rows fared: the dry run prints it, and
`odwatch mapping init` turns reports into a mapping file for the user to edit.

Mapping file (TOML), per table:

    [datasets]
    files = ["catalog_export.csv"]      # which files in the folder hold this table
    [datasets.columns]                  # column in the file = contract column ("" = leave out)
    "Dataset No." = "dataset_id"
    [datasets.values.open_class]        # value in the file = contract value
    restricted = "conditional"
    [datasets.defaults]                 # for contract columns the file lacks
    format = "api"
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from urllib.parse import parse_qsl

from ingest.contract import (
    ACCESS_LOG,
    ACCESS_LOG_CONVERTED,
    CHOICES,
    TABLES,
    columns_of,
    is_required,
)
from ingest.readers import EventIds
from ingest.validate import normalise_time_text, split_list
from odwatch.errors import UserError

ALIASES_FILE = Path(__file__).with_name("aliases.toml")

# Columns whose values are matched against a value set (and its aliases).
FLAG_CHOICES = {("datasets", "has_sample"): ("0", "1")}

# --------------------------------------------------------------------------- normalising

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_SEPARATORS = re.compile(r"[\s_\-.·・]+")
_NOTE = re.compile(r"\((?:必填|必选|选填|可选|非必填|required|optional)\)$")


def _normalise_once(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = unicodedata.normalize("NFKC", text.casefold()).strip()
    text = _SEPARATORS.sub("", text)
    text = _NOTE.sub("", text)
    return text.strip("*$:")


def normalise(text: object) -> str:
    """A header or value as compared: "  数据集 名称（必填）" and "数据集名称" are the same name.

    Case, whitespace, underscores, hyphens and dots, full-width forms (NFKC), a byte-order mark
    or zero-width character, a leading `*` (a required marker) or `$` (an nginx variable) and a
    trailing "(必填)"-style note do not count. Applied until nothing changes, so it is idempotent.
    """
    text = str(text)
    while True:
        changed = _normalise_once(text)
        if changed == text:
            return text
        text = changed


# --------------------------------------------------------------------------- vocabularies


@lru_cache(maxsize=1)
def builtin_aliases() -> dict:
    """ingest/aliases.toml as data: {table: {"columns": {column: [names]},
    "values": {column: {value: [words]}}}}."""
    with open(ALIASES_FILE, "rb") as handle:
        return tomllib.load(handle)


def enumerated(table: str, column: str) -> tuple[str, ...]:
    """The value set of an enumerated column (empty for other columns)."""
    return CHOICES.get((table, column)) or FLAG_CHOICES.get((table, column), ())


def placeable_columns(table: str) -> tuple[str, ...]:
    """What a file's column can be placed as: the contract columns, and for the access log the
    columns converted into them (latency in seconds, a request line, a URL with its query)."""
    extra = tuple(ACCESS_LOG_CONVERTED) if table == ACCESS_LOG else ()
    return columns_of(table) + extra


@dataclass(frozen=True)
class TableMapping:
    """What a mapping file says about one table."""

    files: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)           # source name -> column ("" = leave out)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> source value -> value
    defaults: dict[str, object] = field(default_factory=dict)        # column -> value when absent


@dataclass
class Vocabulary:
    """Every name a table's columns go by and every word for its values: the contract's own,
    the built-in aliases and a mapping file's (a mapping file wins, then the contract)."""

    table: str
    columns: dict[str, tuple[str, str]]       # normalised name -> (column, how)
    values: dict[str, dict[str, str]]          # column -> normalised word -> value
    defaults: dict[str, object]

    def place(self, source: str) -> tuple[str, str]:
        """(column, how) for a source column name; ("", "") when nothing matches. A contract name
        written another way ("Event ID") counts as an alias: only the exact name is the contract's."""
        column, how = self.columns.get(normalise(source), ("", ""))
        if how == "contract" and source != column:
            how = "alias"
        return column, how

    def closest(self, source: str) -> str:
        """The contract column whose name or alias is most like `source` ("" when none is close)."""
        names = {name: column for name, (column, how) in self.columns.items() if how != "ignored"}
        match = difflib.get_close_matches(normalise(source), list(names), n=1, cutoff=0.6)
        return names[match[0]] if match else ""

    def map_value(self, column: str, value: object) -> tuple[object, bool]:
        """The contract value for a value of an enumerated column, and whether it was known."""
        words = self.values.get(column)
        if words is None or value is None or isinstance(value, bool | dict | list):
            return value, True
        text = str(value)
        if not text.strip():
            return value, True
        found = words.get(normalise(text))
        return (found, True) if found is not None else (value, False)


def vocabulary(table: str, mapping: TableMapping | None = None) -> Vocabulary:
    """A table's vocabulary: the built-in one, with a mapping file's entries over it."""
    if mapping is None:
        return _builtin_vocabulary(table)
    return _vocabulary(table, mapping)


@cache
def _builtin_vocabulary(table: str) -> Vocabulary:
    return _vocabulary(table, None)


def _vocabulary(table: str, mapping: TableMapping | None) -> Vocabulary:
    aliases = builtin_aliases().get(table, {})
    columns: dict[str, tuple[str, str]] = {}
    for column, names in aliases.get("columns", {}).items():
        for name in names:
            columns.setdefault(normalise(name), (column, "alias"))
    for column in placeable_columns(table):
        columns[normalise(column)] = (column, "contract")
    values: dict[str, dict[str, str]] = {}
    for column in columns_of(table):
        choices = enumerated(table, column)
        if not choices:
            continue
        words: dict[str, str] = {}
        for value, names in aliases.get("values", {}).get(column, {}).items():
            for name in names:
                words.setdefault(normalise(name), str(value))
        words.update({normalise(value): value for value in choices})
        values[column] = words
    if mapping is not None:
        for source, column in mapping.columns.items():
            columns[normalise(source)] = (column, "mapping") if column else ("", "ignored")
        for column, words in mapping.values.items():
            values.setdefault(column, {}).update({normalise(k): v for k, v in words.items()})
    return Vocabulary(table, columns, values, dict(mapping.defaults) if mapping else {})


# --------------------------------------------------------------------------- a file's columns

_PRECEDENCE = {"mapping": 0, "contract": 1, "alias": 2}


@dataclass
class Placement:
    """One column of a file: where it goes, found how ("contract", "alias", "mapping"), or why not."""

    source: str
    column: str = ""
    how: str = ""          # also "ignored" (the mapping leaves it out), "duplicate", "" (not placed)
    closest: str = ""      # for a column not placed: the contract column most like it


@dataclass
class ColumnPlan:
    """How the columns of one file become a table's contract columns."""

    table: str
    placements: list[Placement]
    vocabulary: Vocabulary

    @cached_property
    def renames(self) -> dict[str, str]:
        return {p.source: p.column for p in self.placements if p.how in _PRECEDENCE}

    @cached_property
    def fingerprint(self) -> str:
        """What reading a file by this plan depends on: lines read by another plan are read anew."""
        described = {"renames": self.renames, "values": self.vocabulary.values,
                     "defaults": self.vocabulary.defaults}
        text = json.dumps(described, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def placed(self) -> set[str]:
        return set(self.renames.values())

    @property
    def identity(self) -> bool:
        """Every column is under its contract name, and nothing needs mapping: the file is the contract."""
        return all(p.how in ("contract", "") for p in self.placements) and not self.vocabulary.defaults

    def missing(self) -> tuple[list[str], list[str]]:
        """Contract columns the file lacks: (required ones, ones that take a default)."""
        placed = self.placed | set(self.vocabulary.defaults)
        for converted in placed & set(_CONVERTS):
            placed |= _CONVERTS[converted]
        absent = [c for c in columns_of(self.table) if c not in placed]
        # A log without request ids gets ids derived from its lines, one without a channel is a web log.
        derived = ("event_id", "channel") if self.table == ACCESS_LOG else ()
        required = [c for c in absent if is_required(self.table, c) and c not in derived]
        return required, [c for c in absent if c not in required]

    def rename(self, record: dict) -> dict:
        """A record keyed by the file's names, keyed by contract columns (the rest left out)."""
        renames = self.renames
        return {renames[key]: value for key, value in record.items() if key in renames}


_CONVERTS = {"latency_s": {"latency_ms"}, "request": {"method", "endpoint", "params"},
             "request_uri": {"endpoint", "params"}}


def plan_columns(table: str, header: list[str], vocab: Vocabulary) -> ColumnPlan:
    """Place each column of a header; two columns found for one contract column: the better found
    (mapping file, then contract name, then alias; then the first) wins, the other is a duplicate."""
    placements = []
    for source in header:
        column, how = vocab.place(source)
        placements.append(Placement(source, column, how))
    best: dict[str, Placement] = {}
    for placement in placements:
        if placement.how not in _PRECEDENCE:
            continue
        held = best.get(placement.column)
        if held is None or _PRECEDENCE[placement.how] < _PRECEDENCE[held.how]:
            best[placement.column] = placement
    for placement in placements:
        if placement.how in _PRECEDENCE and best[placement.column] is not placement:
            placement.how = "duplicate"
        elif not placement.how:
            placement.closest = vocab.closest(placement.source)
    return ColumnPlan(table, placements, vocab)


def guess_table(header: list[str], mapping: Mapping | None = None,
                tables: tuple[str, ...] = TABLES) -> str:
    """The table whose columns a header holds ("" when none or a tie): its id column must be there
    (for the access log a time and an address or status), and most of its columns found wins."""
    scores = []
    for table in tables:
        plan = plan_columns(table, header, vocabulary(table, mapping.table(table) if mapping else None))
        placed = plan.placed
        if table == ACCESS_LOG:
            qualifies = "ts" in placed and bool(placed & {"client_ip", "status", "request", "request_uri"})
        else:
            qualifies = columns_of(table)[0] in placed
        if qualifies:
            scores.append((len(placed), table))
    scores.sort(reverse=True)
    if not scores or (len(scores) > 1 and scores[0][0] == scores[1][0]):
        return ""
    return scores[0][1]


# --------------------------------------------------------------------------- mapping files


@dataclass
class Mapping:
    """A mapping file: per table, files, columns, values and defaults."""

    tables: dict[str, TableMapping] = field(default_factory=dict)
    source: str = ""

    def table(self, name: str) -> TableMapping | None:
        return self.tables.get(name)


def load_mapping(path: Path | None) -> Mapping | None:
    """Read and check a mapping file; an error names the line and the key."""
    if path is None:
        return None
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"Cannot read the mapping file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"The mapping file {path} is not UTF-8 text.") from None
    return parse_mapping(text, str(path))


def parse_mapping(text: str, source: str = "mapping") -> Mapping:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: not valid TOML: {exc}") from None
    problems = _MappingChecker(text, source)
    tables = {}
    for table, body in data.items():
        if table not in TABLES:
            problems.fail(table, None, f"{table} is not a table; use one of {', '.join(TABLES)}")
        if not isinstance(body, dict):
            problems.fail(table, None, f"{table} must be a table with columns, values or defaults")
        tables[table] = problems.table_mapping(table, body)
    return Mapping(tables, source)


class _MappingChecker:
    """Checks a parsed mapping file and names the line of a problem (tomllib keeps no positions,
    so the key is looked for under its section header)."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def line_of(self, section: str, key: str | None) -> int | None:
        """The line of `key` under the header [section], or (no key) of the first header in section."""
        current = ""
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]\s*(#.*)?", stripped)
            if header:
                current = re.sub(r"\s*\.\s*", ".", header.group(1)).replace('"', "").replace("'", "")
                if key is None and (current == section or current.startswith(section + ".")):
                    return number
                continue
            if key is None or current != section or "=" not in stripped:
                continue
            if stripped.split("=", 1)[0].strip().strip("\"'") == key:
                return number
        return None

    def fail(self, section: str, key: str | None, message: str) -> None:
        line = self.line_of(section, key) or (self.line_of(section, None) if key else None)
        where = f" (line {line})" if line else ""
        raise UserError(f"{self.source}{where}: {message}")

    def table_mapping(self, table: str, body: dict) -> TableMapping:
        for key in body:
            if key not in ("files", "columns", "values", "defaults"):
                self.fail(table, key, f"{table}: {key}: expected files, columns, values or defaults")
        files = body.get("files", [])
        if isinstance(files, str):
            files = [files]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            self.fail(table, "files", f"{table}: files must be a list of file names")
        columns = self._columns(table, body.get("columns", {}))
        values = self._values(table, body.get("values", {}))
        defaults = self._defaults(table, body.get("defaults", {}))
        return TableMapping(tuple(files), columns, values, defaults)

    def _columns(self, table: str, columns: object) -> dict[str, str]:
        section = f"{table}.columns"
        if not isinstance(columns, dict):
            self.fail(table, "columns", f'{section}: must be a table of "file column" = "contract column"')
        known = placeable_columns(table)
        for source, target in columns.items():
            if not isinstance(target, str):
                self.fail(section, source, f'{section}: "{source}" must name a column as text')
            if target and target not in known:
                hint = difflib.get_close_matches(target, known, n=1)
                closest = f"; closest: {hint[0]}" if hint else ""
                self.fail(section, source, f'{section}: "{source}" = "{target}": {target} is not a '
                                           f"{table} column{closest}")
        return dict(columns)

    def _values(self, table: str, values: object) -> dict[str, dict[str, str]]:
        section = f"{table}.values"
        if not isinstance(values, dict):
            self.fail(table, "values", f"{section}: must hold one table per column")
        out = {}
        for column, words in values.items():
            choices = enumerated(table, column)
            if not choices:
                listed = ", ".join(c for c in columns_of(table) if enumerated(table, c))
                self.fail(f"{section}.{column}", None, f"{section}.{column}: {column} has no value set "
                                                       f"in {table}; those with one: {listed}")
            if not isinstance(words, dict):
                self.fail(section, column,
                          f'{section}.{column}: must be a table of "value" = "contract value"')
            for word, target in words.items():
                if str(target) not in choices:
                    self.fail(f"{section}.{column}", word, f'{section}.{column}: "{word}" = "{target}": '
                                                           f"use one of {', '.join(choices)}")
            out[column] = {str(word): str(target) for word, target in words.items()}
        return out

    def _defaults(self, table: str, defaults: object) -> dict[str, object]:
        section = f"{table}.defaults"
        if not isinstance(defaults, dict):
            self.fail(table, "defaults", f"{section}: must be a table of column = value")
        for column, value in defaults.items():
            if column not in columns_of(table):
                self.fail(section, column, f"{section}: {column} is not a {table} column")
            choices = enumerated(table, column)
            if choices and str(value) not in choices:
                self.fail(section, column,
                          f'{section}: {column} = "{value}": use one of {", ".join(choices)}')
        return dict(defaults)


# --------------------------------------------------------------------------- mapped access-log records

def text_list(value: object) -> object:
    """A list column given as text "a, b、c" (or JSON) as a list; other values as they came."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return value
    return split_list(text)


def _seconds_to_ms(value: object) -> object:
    try:
        return round(float(value) * 1000)
    except (TypeError, ValueError, OverflowError):
        return value


def _epoch(value: object) -> object:
    """Epoch seconds (10 digits, maybe with a fraction, as nginx's $msec) as epoch milliseconds; a
    compact local time (`20261105130008`, as some gateways write it) as its ISO text."""
    text = str(value).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
    if re.fullmatch(r"\d{10}(\.\d+)?", text):
        return round(float(text) * 1000)
    compact = re.fullmatch(r"(20\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)", text)
    if compact:
        year, month, day, hour, minute, second = compact.groups()
        return f"{year}-{month}-{day} {hour}:{minute}:{second}"
    return value


_WITH_PORT = re.compile(r"\[([0-9A-Fa-f:.]+)\]:\d+|(\d{1,3}(?:\.\d{1,3}){3}):\d+")


def _address_only(text: str) -> str:
    """A client address as a proxy may write it, with its port (`10.0.0.2:54321`, `[2408::1]:443`)."""
    text = text.strip()
    with_port = _WITH_PORT.fullmatch(text)
    return (with_port.group(1) or with_port.group(2)) if with_port else text


def _query(text: str) -> dict:
    return dict(parse_qsl(text, keep_blank_values=True))


class LogMapper:
    """Turns an access-log record in a platform's own names and values into a contract record.

    Also converts what the contract has in another form: latency in seconds, a request line, a
    URL with its query string, text lists, times written other ways. Counts values it could not
    map and the defaults it used, for the file's report.
    """

    def __init__(self, plan: ColumnPlan, report: FileReport) -> None:
        self.plan = plan
        self.vocab = plan.vocabulary
        self.report = report
        self.defaults = dict(self.vocab.defaults)
        if "channel" not in plan.placed and "channel" not in self.defaults:
            self.defaults["channel"] = "web"   # a log that names no channel is a web server's
        # A log without request ids: each line's id is derived from the line (see EventIds).
        without_ids = "event_id" not in plan.placed and "event_id" not in self.defaults
        self.ids = EventIds("log") if without_ids else None

    def __call__(self, record: dict, raw: bytes = b"") -> dict:
        out = self.plan.rename(record)
        request = out.pop("request", None)
        if isinstance(request, str):
            parts = request.split(" ")
            method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", parts[0])
            out.setdefault("method", method)
            out["request_uri"] = out.get("request_uri", target)
        uri = out.pop("request_uri", None)
        if isinstance(uri, str):
            path, _, query = uri.partition("?")
            out.setdefault("endpoint", path)
            if "params" not in out:
                out["params"] = _query(query)
        endpoint = out.get("endpoint")
        if isinstance(endpoint, str) and "?" in endpoint:
            # A column of full URLs (接口地址) placed as the endpoint: its query holds the paging.
            out["endpoint"], _, query = endpoint.partition("?")
            if not out.get("params"):
                out["params"] = _query(query)
        if "latency_s" in out:
            seconds = out.pop("latency_s")
            out.setdefault("latency_ms", _seconds_to_ms(seconds))
        if "ts" in out:
            ts = _epoch(out["ts"])
            out["ts"] = normalise_time_text(ts) if isinstance(ts, str) else ts
        if isinstance(out.get("fields"), str):
            out["fields"] = text_list(out["fields"])
        params = out.get("params")
        if isinstance(params, str) and params.strip() and not params.lstrip().startswith("{"):
            out["params"] = _query(params.lstrip("?"))
        if isinstance(out.get("client_ip"), str):
            out["client_ip"] = _address_only(out["client_ip"])
        if "channel" in out:
            out["channel"] = self._value("channel", out["channel"])
        for column, value in self.defaults.items():
            if out.get(column) in (None, ""):
                out[column] = value
                self.report.count("defaulted", column)
        if self.ids is not None:
            out["event_id"] = self.ids.derive(raw, str(out.get("ts", ""))[:19])
            self.report.count("defaulted", "event_id")
        return out

    def _value(self, column: str, value: object) -> object:
        mapped, known = self.vocab.map_value(column, value)
        if not known:
            self.report.unmapped(column, value)
        return mapped


# --------------------------------------------------------------------------- reports


@dataclass
class FileReport:
    """What reading one file did (or, in a dry run, would do)."""

    path: str
    table: str = ""
    found_by: str = ""             # how its table was known: "file name", "mapping file", "columns"
    format: str = ""
    encoding: str = ""
    columns: list[Placement] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    missing_defaulted: list[str] = field(default_factory=list)
    unmapped_values: dict[str, dict[str, int]] = field(default_factory=dict)
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    defaulted: dict[str, int] = field(default_factory=dict)
    corrected: dict[str, int] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)   # references the catalog lacks (rows kept)
    stopped: str = ""              # a limit or damage stopped reading the file
    problem: str = ""              # the file was not read at all (and why)

    def use_plan(self, plan: ColumnPlan) -> None:
        self.table = plan.table
        self.columns = plan.placements
        self.missing_required, self.missing_defaulted = plan.missing()

    def count(self, kind: str, key: str, n: int = 1) -> None:
        counts = getattr(self, kind)
        counts[key] = counts.get(key, 0) + n

    def unmapped(self, column: str, value: object) -> None:
        values = self.unmapped_values.setdefault(column, {})
        text = str(value)[:60]
        if text in values or len(values) < 50:   # the first 50 different values are plenty to act on
            values[text] = values.get(text, 0) + 1

    def as_dict(self) -> dict:
        return asdict(self)


def starting_mapping(reports: list[FileReport], folder: str) -> str:
    """A mapping file from what `reports` found: every column of every file, placed or left blank
    with the closest contract column in a comment; unmapped values and absent columns commented."""
    out = [f"# Mapping written by `odwatch mapping init {folder}` from {len(reports)} file(s).",
           "# Fill in the blanks (\"\" leaves a column out), then check it with a dry run:",
           f"#   odwatch load-reference {folder} --mapping mapping.toml --dry-run",
           "#   odwatch ingest LOG... --mapping mapping.toml --dry-run      (access logs)",
           "# Matching ignores case, spaces, full-width forms and a BOM; see docs/connecting.md.", ""]
    by_table: dict[str, list[FileReport]] = {}
    for report in reports:
        by_table.setdefault(report.table, []).append(report)
    for table, found in by_table.items():
        if not table:
            for report in found:
                problem = report.problem or "its table is not clear"
                out.append(f"# {Path(report.path).name}: {problem}.")
            out.append("")
            continue
        out += _table_section(table, found)
    return "\n".join(out).rstrip() + "\n"


def _toml_key(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _table_section(table: str, reports: list[FileReport]) -> list[str]:
    names = ", ".join(_toml_key(Path(r.path).name) for r in reports)
    out = [f"[{table}]", f"files = [{names}]", "", f"[{table}.columns]"]
    seen: set[str] = set()
    for report in reports:
        for p in report.columns:
            if p.source in seen:
                continue
            seen.add(p.source)
            if p.how in ("contract", "alias", "mapping"):
                out.append(f"{_toml_key(p.source)} = {_toml_key(p.column)}   # {p.how}")
            elif p.how == "duplicate":
                out.append(f'{_toml_key(p.source)} = ""   # also found as {p.column}; left out')
            else:
                hint = f"closest: {p.closest}" if p.closest else "no contract column like it"
                out.append(f'{_toml_key(p.source)} = ""   # not placed; {hint}')
    unmapped: dict[str, Counter] = {}
    for report in reports:
        for column, values in report.unmapped_values.items():
            unmapped.setdefault(column, Counter()).update(values)
    for column, values in unmapped.items():
        out += ["", f"[{table}.values.{column}]",
                f"# one of: {', '.join(enumerated(table, column))}"]
        out += [f'# {_toml_key(value)} = ""   # {count} row(s)' for value, count in values.most_common()]
    required = {c for r in reports for c in r.missing_required}
    missing = sorted(required | {c for r in reports for c in r.missing_defaulted})
    if missing:
        out += ["", f"[{table}.defaults]", "# for columns the files lack (without a required one, every row "
                                           "is rejected):"]
        out += [f'# {column} = ""' + ("   # required" if column in required else "") for column in missing]
    return out + [""]
