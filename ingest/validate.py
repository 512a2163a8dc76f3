"""Validation of access-log lines, in the engine, and of reference-data values.

Access-log lines are validated by one SELECT over a chunk of raw lines (see
`PARSE_LINES`): each line is parsed once with the engine's JSON functions into a
typed tuple, and a `multiIf` names the first problem of the line as a rule (the
summary counts rules). The sentence a person reads (`REASON`) is written only for
the rejected lines. Doing this per line in Python would cap ingest far below the
engine's own insert speed.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from datetime import UTC, date, datetime

from odwatch.clock import SHANGHAI

# --- access-log lines: the parse-and-validate query ---------------------------------------------

CHANNELS = ("api", "download", "web")
# The common methods are checked by list (fast); any other token is an extension method (RFC 9110
# §9.1: WebDAV's PROPFIND, or the TRACK and DEBUG scanners send) and is kept as the evidence it is.
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT")
METHOD_TOKEN = "^[A-Z][A-Z0-9_-]{0,23}$"
TEXT_FIELDS = ("consumer_id", "key_id", "dataset_id", "endpoint", "scenario", "user_agent")

# The contract's fields with the types they are read as. Reading is lenient where a
# gateway's habits are harmless (a number where text is expected is taken as its text,
# a whole number may come as "200"); everything else is checked below.
_LINE_TYPE = (
    "Tuple(event_id Nullable(String), ts Nullable(String), consumer_id Nullable(String), "
    "key_id Nullable(String), dataset_id Nullable(String), channel Nullable(String), "
    "endpoint Nullable(String), method Nullable(String), status Nullable(Float64), "
    "latency_ms Nullable(Float64), rows Nullable(Float64), bytes Nullable(Float64), fields Array(String), "
    "scenario Nullable(String), client_ip Nullable(String), user_agent Nullable(String), "
    "params Nullable(String))"
)

# Columns of a chunk after parsing: what access_log needs, plus the verdict. `line` and
# `raw` are kept for rejected lines only (`raw` when the source text differs from `line`).
PARSED_COLUMNS = """
    line_no     UInt64,
    line        String,
    raw         String,
    event_id    String,
    event_key   FixedString(16),
    ts          DateTime64(3, 'Asia/Shanghai'),
    consumer_id String,
    key_id      String,
    dataset_id  String,
    channel     LowCardinality(String),
    endpoint    String,
    method      LowCardinality(String),
    status      UInt16,
    latency_ms  UInt32,
    rows        UInt64,
    bytes       UInt64,
    fields      Array(String),
    scenario    String,
    client_ip   String,
    user_agent  String,
    params      String,
    problem     String,
    rule        LowCardinality(String)
"""

STAGE_COLUMNS = "line_no UInt64, line String, raw String, problem String"

# Where a chunk's lines come from: a staging table, or (embedded engine) the chunk's
# lines written to a file, numbered by the reader's own row counter.
STAGED_LINES = "SELECT line_no, line, raw, problem FROM {table}"
FILE_LINES = ("SELECT _row_number + {first} AS line_no, line, '' AS raw, '' AS problem "
              "FROM file('{path}', LineAsString)")


def _is_structured(column: str) -> str:
    """SQL: the text value is really a JSON object or array (not text)."""
    return (f"((startsWith({column}, '{{') OR startsWith({column}, '[')) "
            f"AND isValidJSON({column}))")


# The line-length limit (settings.ingest_max_line_bytes) is written into the query when it runs:
# a reader cuts a line that runs on across its read blocks, the engine checks the others.
MAX_LINE_BYTES = "__MAX_LINE_BYTES__"

# A reader's finding (`problem`, a sentence) is counted under a short rule, as the engine's are.
READER_RULES = {
    "row has": "wrong number of CSV cells",
    "line longer than": "line too long",
    "stopped:": "file stopped",
    "unclosed quote": "unclosed quote",
    "the line is not valid UTF-8": "not UTF-8",
    "the line is not valid GB18030": "not GB18030",
    "not a readable CSV row": "unreadable CSV row",
    "the line could not be mapped": "unmappable line",
    "a title line above the header": "title line",
}
_READER_RULES_SQL = ", ".join(
    f"startsWith(problem, '{start}'), '{rule}'" for start, rule in READER_RULES.items()
)

# The checks of a line, in order: the first that holds names the line's problem. Each is
# computed for every line (they go into one array), because a long `multiIf` would copy the
# line text for each branch it evaluates; `AND` / `OR` still skip their costly right-hand
# side (a second JSON parse) for the few lines that need it.
LINE_CHECKS: list[tuple[str, str]] = [
    (f"length(line) > {MAX_LINE_BYTES}", "line too long"),
    ("length(line) < 256 AND trim(BOTH ' \\t\\r\\n' FROM line) = ''", "empty line"),
    ("NOT isValidUTF8(line)", "not UTF-8"),
    ("position(line, '\\0') > 0", "NUL byte"),
    ("NOT (startsWith(line, '{') OR startsWith(trimLeft(line), '{'))", "not a JSON object"),
    ("j.event_id IS NULL AND NOT isValidJSON(line)", "malformed JSON"),
    ("v_event_id = ''", "event_id missing"),
    ("j.ts IS NULL AND mentions('ts')", "ts invalid"),
    ("j.ts IS NULL", "ts missing"),
    ("ts_epoch IS NULL AND (NOT looks_rfc3339(v_ts) OR ts_value IS NULL)", "ts invalid"),
    ("ts_value < toDateTime64('2000-01-01 00:00:00', 3, 'Asia/Shanghai')", "ts out of range"),
    ("ts_value > now64(3) + INTERVAL 1 DAY", "ts out of range"),
    *[(_is_structured(f"v_{name}"), "field not text") for name in TEXT_FIELDS],
    ("j.channel IS NULL", "channel missing"),
    (f"v_channel NOT IN {CHANNELS}", "bad channel"),
    (f"v_method != '' AND v_method NOT IN {HTTP_METHODS} AND NOT match(v_method, '{METHOD_TOKEN}')",
     "bad method"),
    ("j.status IS NULL AND mentions('status')", "status not a whole number"),
    ("j.status IS NULL", "status missing"),
    ("fractional(j.status)", "status not a whole number"),
    ("v_status < 100 OR v_status > 599", "status out of range"),
    ("(j.latency_ms IS NULL AND present('latency_ms')) OR fractional(j.latency_ms) "
     "OR (j.rows IS NULL AND present('rows')) OR fractional(j.rows) "
     "OR (j.bytes IS NULL AND present('bytes')) OR fractional(j.bytes)", "not a whole number"),
    ("v_latency < 0 OR v_rows < 0 OR v_bytes < 0", "negative number"),
    ("v_latency > 4294967295 OR v_rows >= 1e19 OR v_bytes >= 1e19", "number too large"),
    ("(empty(j.fields) AND mentions('fields') AND JSONType(line, 'fields') NOT IN ('Array', 'Null')) "
     f"OR arrayExists(x -> {_is_structured('x')}, j.fields)", "bad fields"),
    ("v_client_ip = ''", "client_ip missing"),
    ("NOT (isIPv4String(v_client_ip) OR isIPv6String(v_client_ip))", "bad client_ip"),
    ("NOT startsWith(v_params, '{') OR NOT isValidJSON(v_params)", "bad params"),
]
_CHECKS_SQL = ",\n        ".join(condition for condition, _ in LINE_CHECKS)
_RULES_SQL = "[" + ", ".join(f"'{rule}'" for _, rule in LINE_CHECKS) + "]"

# One pass over a chunk's lines: the first check that holds is the line's rule (the summary
# counts rules; '' = valid). A reader's own finding (`problem`) comes first. The sentence a
# person reads is written later, for rejected lines only (REASON).
PARSE_LINES = f"""
INSERT INTO {{parsed}}
WITH
    JSONExtract(line, '{_LINE_TYPE}') AS j,
    ifNull(j.event_id, '') AS v_event_id,
    ifNull(j.ts, '') AS v_ts,
    toInt64OrNull(v_ts) AS ts_epoch,
    if(ts_epoch IS NOT NULL, fromUnixTimestamp64Milli(ts_epoch, 'Asia/Shanghai'),
       parseDateTime64BestEffortOrNull(v_ts, 3, 'Asia/Shanghai')) AS ts_value,
    ifNull(j.consumer_id, '') AS v_consumer_id,
    ifNull(j.key_id, '') AS v_key_id,
    ifNull(j.dataset_id, '') AS v_dataset_id,
    ifNull(j.endpoint, '') AS v_endpoint,
    ifNull(j.scenario, '') AS v_scenario,
    ifNull(j.user_agent, '') AS v_user_agent,
    ifNull(j.channel, '') AS v_channel,
    upper(ifNull(j.method, '')) AS v_method,
    ifNull(j.client_ip, '') AS v_client_ip,
    ifNull(j.params, '{{}}') AS v_params,
    ifNull(j.status, 0) AS v_status,
    ifNull(j.latency_ms, 0) AS v_latency,
    ifNull(j.rows, 0) AS v_rows,
    ifNull(j.bytes, 0) AS v_bytes,
    (x -> x IS NOT NULL AND x != floor(x)) AS fractional,
    -- The shape of RFC 3339 (YYYY-MM-DDTHH:MM:SS, optional fraction and offset), checked by
    -- position (a regular expression per line costs more); the parser above checks the values.
    (x -> length(x) BETWEEN 19 AND 35 AND substring(x, 5, 1) = '-' AND substring(x, 8, 1) = '-'
          AND substring(x, 11, 1) IN ('T', 't', ' ') AND substring(x, 14, 1) = ':'
          AND substring(x, 17, 1) = ':' AND isNotNull(toUInt16OrNull(substring(x, 1, 4)))) AS looks_rfc3339,
    (name -> position(line, concat('"', name, '"')) > 0) AS mentions,
    -- An optional number written as null, "" or "-" (a gateway's or nginx's "no value") is absent:
    -- it takes the contract's default, 0, instead of costing the line.
    (name -> mentions(name) AND JSONType(line, name) != 'Null'
             AND NOT (JSONType(line, name) = 'String'
                      AND trimBoth(JSONExtractString(line, name)) IN ('', '-'))) AS present,
    [{_CHECKS_SQL}] AS checks,
    if(problem != '', multiIf({_READER_RULES_SQL}, problem),
       arrayElement({_RULES_SQL}, indexOf(checks, 1))) AS verdict
SELECT
    line_no,
    -- Aliases that differ from the source columns: an alias named `line` would be substituted
    -- into every expression above that reads `line` (the JSON would be parsed twice).
    if(verdict = '', '', line) AS kept_line,
    if(verdict = '', '', raw) AS kept_raw,
    v_event_id AS event_id,
    sipHash128(v_event_id) AS event_key,
    ifNull(ts_value, toDateTime64(0, 3, 'Asia/Shanghai')) AS ts,
    v_consumer_id AS consumer_id,
    v_key_id AS key_id,
    v_dataset_id AS dataset_id,
    v_channel AS channel,
    v_endpoint AS endpoint,
    v_method AS method,
    toUInt16(greatest(least(v_status, 65535), 0)) AS status,
    toUInt32(greatest(least(v_latency, 4294967295), 0)) AS latency_ms,
    toUInt64(greatest(least(v_rows, 1e19), 0)) AS rows,
    toUInt64(greatest(least(v_bytes, 1e19), 0)) AS bytes,
    j.fields AS fields,
    v_scenario AS scenario,
    v_client_ip AS client_ip,
    v_user_agent AS user_agent,
    v_params AS params,
    problem,
    verdict AS rule
FROM ({{lines}})
"""

# The sentence a person reads for a rejected line, from its rule and the offending value.
REASON = f"""
multiIf(
    problem != '', problem,
    rule = 'line too long', 'line longer than {MAX_LINE_BYTES} bytes',
    rule = 'empty line', 'empty line',
    rule = 'not UTF-8', 'the line is not valid UTF-8 text',
    rule = 'NUL byte', 'the line contains a NUL byte',
    rule = 'not a JSON object', 'the line is not a JSON object',
    rule = 'malformed JSON', 'truncated or malformed JSON',
    rule = 'event_id missing', 'event_id is missing or empty',
    rule = 'ts missing', 'ts is missing',
    rule = 'ts invalid', concat('ts ', cut(JSONExtractRaw(line, 'ts')),
                                ' is not an RFC 3339 time or epoch milliseconds'),
    rule = 'ts out of range' AND JSONType(line, 'ts') IN ('Int64', 'UInt64')
        AND JSONExtractInt(line, 'ts') < 946684800000,
        concat('ts ', JSONExtractRaw(line, 'ts'),
               ' is before 2000: epoch milliseconds are expected and this looks like epoch seconds'),
    rule = 'ts out of range', concat('ts ', cut(JSONExtractRaw(line, 'ts')),
                                     ' is before 2000-01-01 or more than a day in the future'),
    rule = 'field not text', concat(
        arrayFirst(name -> JSONType(line, name) IN ('Object', 'Array'), {list(TEXT_FIELDS)}),
        ' must be text, not a JSON object or array'),
    rule = 'channel missing', 'channel is missing',
    rule = 'bad channel', concat('channel ', cut(JSONExtractRaw(line, 'channel')),
                                 ' is not one of api, download, web'),
    rule = 'bad method', concat('method ', cut(JSONExtractRaw(line, 'method')), ' is not an HTTP method'),
    rule = 'status missing', 'status is missing',
    rule = 'status not a whole number', concat('status ', cut(JSONExtractRaw(line, 'status')),
                                               ' is not a whole number'),
    rule = 'status out of range', concat('status ', cut(JSONExtractRaw(line, 'status')),
                                         ' is not an HTTP status (100–599)'),
    rule IN ('not a whole number', 'negative number', 'number too large'), arrayStringConcat(arrayMap(
        name -> concat(name, ' ', cut(JSONExtractRaw(line, name))),
        arrayFilter(name -> JSONExtractRaw(line, name) NOT IN ('', 'null')
                            AND NOT match(JSONExtractRaw(line, name), '^"?[0-9]{{1,10}}"?$|^" *-? *"$'),
                    ['latency_ms', 'rows', 'bytes'])), ', ')
        || multiIf(rule = 'negative number', ' must not be negative',
                   rule = 'number too large', ' is too large', ' is not a whole number'),
    rule = 'bad fields', 'fields must be an array of text values',
    rule = 'client_ip missing', 'client_ip is missing',
    rule = 'bad client_ip', concat('client_ip ', cut(JSONExtractRaw(line, 'client_ip')),
                                   ' is not an IPv4 or IPv6 address'),
    rule = 'bad params', 'params must be a JSON object',
    rule)
"""

# --- reference data: one value at a time (files are small) ---------------------------------------


class BadValue(ValueError):
    """A reference-data value that cannot be stored; the message is for a person."""


# What the engine's Date and DateTime columns can hold (a value outside would fail the whole insert).
FIRST_YEAR, LAST_DATETIME_YEAR, LAST_DATE_YEAR = 1970, 2105, 2148
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE_WORDS = re.compile(
    r"^\s*(\d{4})\s*[/.年-]\s*(\d{1,2})\s*[/.月-]\s*(\d{1,2})\s*日?\s*(?:[T\s]\s*(.*))?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(.*)$")
_TIME_LOCAL = "%d/%b/%Y:%H:%M:%S %z"


def normalise_time_text(text: str) -> str:
    """Common ways of writing a time, as `YYYY-MM-DD HH:MM:SS...`: "2026/3/1 8:00:05",
    "2026年3月1日 08:00", "2026.03.01", and a web log's "27/Nov/2026:09:15:02 +0800". Anything
    else comes back as it was, for the check that follows to name."""
    stripped = text.strip()
    match = _DATE_WORDS.match(stripped)
    if match:
        year, month, day, rest = match.groups()
        clock = (rest or "").strip()
        if clock:
            hms = _CLOCK.match(clock)
            if not hms:
                return text
            hour, minute, second, tail = hms.groups()
            clock = f" {int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}{tail.strip()}"
        return f"{year}-{int(month):02d}-{int(day):02d}{clock}"
    if "/" in stripped and ":" in stripped:
        try:
            return datetime.strptime(stripped, _TIME_LOCAL).isoformat()
        except ValueError:
            return text
    return text


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_datetime(column: str, value: object, *, required: bool = True) -> datetime | None:
    """RFC 3339 / ISO 8601 text (no offset = Asia/Shanghai; also "2026/3/1 8:00", "2026年3月1日"),
    a date, or epoch milliseconds; within the years the engine can store."""
    if _missing(value):
        if required:
            raise BadValue(f"{column} is missing")
        return None
    if isinstance(value, bool):
        raise BadValue(f'{column} "{value}" is not a date and time')
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 946684800000 or value >= 4291747200000:
            raise BadValue(f'{column} "{value}" is not epoch milliseconds between 2000 and 2105')
        return datetime.fromtimestamp(value / 1000, tz=SHANGHAI)
    text = normalise_time_text(str(value)).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadValue(f'{column} "{str(value)[:40]}" is not a date and time (YYYY-MM-DD HH:MM:SS)') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    if parsed < EPOCH or parsed.year > LAST_DATETIME_YEAR:
        raise BadValue(f'{column} "{text[:40]}" is outside the years {FIRST_YEAR}–{LAST_DATETIME_YEAR}')
    return parsed.astimezone(SHANGHAI)


def parse_date(column: str, value: object, *, required: bool = True) -> date | None:
    """A date YYYY-MM-DD (also "2026/3/1", "2026年3月1日"), or a date and time whose date is meant."""
    if _missing(value):
        if required:
            raise BadValue(f"{column} is missing")
        return None
    text = normalise_time_text(str(value)).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text):
            raise ValueError(text)
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        raise BadValue(f'{column} "{str(value)[:40]}" is not a date (YYYY-MM-DD)') from None
    if not FIRST_YEAR <= parsed.year <= LAST_DATE_YEAR:
        raise BadValue(f'{column} "{text[:40]}" is outside the years {FIRST_YEAR}–{LAST_DATE_YEAR}')
    return parsed


def parse_uint(column: str, value: object, *, required: bool = True, default: int = 0,
               maximum: int = 2**64 - 1) -> int:
    """A whole number from 0 to `maximum` (the column type's largest)."""
    if _missing(value):
        if required:
            raise BadValue(f"{column} is missing")
        return default
    if isinstance(value, bool):
        raise BadValue(f'{column} "{value}" is not a whole number')
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,30}\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise BadValue(f'{column} "{str(value)[:40]}" is not a whole number')
    if value < 0:
        raise BadValue(f'{column} "{value}" is negative')
    if value > maximum:
        raise BadValue(f'{column} "{value}" is larger than {maximum}')
    return value


def parse_text(column: str, value: object, *, required: bool = False, choices: tuple[str, ...] = ()) -> str:
    if value is None:
        value = ""
    if isinstance(value, dict | list | bool):
        raise BadValue(f"{column} must be text")
    text = str(value)
    if required and not text.strip():
        raise BadValue(f"{column} is missing")
    if choices and text not in choices:
        raise BadValue(f'{column} "{text[:40]}" is not one of {", ".join(choices)}')
    return text


def parse_json_array(column: str, value: object, *, of_text: bool = True, lenient: bool = False) -> list:
    """A JSON array given as a list (JSONL) or as JSON text (CSV); empty = []. `lenient` (a column
    found under another name than the contract's) also takes text separated by , ; 、 | or lines."""
    if _missing(value):
        return []
    if isinstance(value, str):
        if lenient and not value.lstrip().startswith("["):
            return split_list(value)
        try:
            value = json.loads(value)
        except ValueError:
            raise BadValue(f"{column} is not a JSON array") from None
        except RecursionError:
            raise BadValue(f"{column} is nested too deeply") from None
    if not isinstance(value, list):
        raise BadValue(f"{column} must be a JSON array")
    if of_text and not all(isinstance(item, str) for item in value):
        raise BadValue(f"{column} must be a JSON array of text values")
    return value


def split_list(text: str) -> list[str]:
    """A list written as text: "企业名称、地址", "a, b", "a;b", "a|b" or one item a line."""
    return [item.strip() for item in re.split(r"[,;，；、|\n]", text) if item.strip()]


def check_ip_or_network(column: str, value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise BadValue(f'{column} entry "{value[:40]}" is not an IP address or CIDR network') from None
    return value
