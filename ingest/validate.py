"""Validation of access-log lines, in the engine, and of reference-data values.

Access-log lines are validated by one SELECT over a chunk of raw lines (see
`PARSE_LINES`): each line is parsed once with the engine's JSON functions into a
tuple of `Dynamic` values, which keeps the JSON type of every field, so "status
is text, not a number" and "status 700 is out of range" are told apart. A
`multiIf` then names the first problem of the line as a rule (for counting) and a
reason (for a person). Doing this per line in Python would cap ingest far below
the engine's own insert speed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from odwatch.settings import TIMEZONE

SHANGHAI = ZoneInfo(TIMEZONE)

# --- the unified social credit code (GB 32100-2015) ---------------------------------------------

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31 for positions 1..17


def credit_code_check_char(first17: str) -> str:
    """The 18th character that makes `first17` a valid code."""
    total = sum(CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_is_valid(code: str) -> bool:
    """True when `code` is an 18-character unified social credit code with a correct check character."""
    if not isinstance(code, str) or len(code) != 18 or any(ch not in CREDIT_ALPHABET for ch in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


# --- access-log lines: the parse-and-validate query ---------------------------------------------

CHANNELS = ("api", "download", "web")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT")

# The input contract's fields, each as a Dynamic so the JSON type survives the parse.
_LINE_TYPE = (
    "Tuple(event_id Dynamic, ts Dynamic, consumer_id Dynamic, key_id Dynamic, dataset_id Dynamic, "
    "channel Dynamic, endpoint Dynamic, method Dynamic, status Dynamic, latency_ms Dynamic, rows Dynamic, "
    "bytes Dynamic, fields Dynamic, scenario Dynamic, client_ip Dynamic, user_agent Dynamic, params Dynamic)"
)

# Columns of the chunk after parsing: what access_log needs, plus the rule and reason.
PARSED_COLUMNS = """
    line_no     UInt64,
    raw         String,
    event_id    String,
    event_key   FixedString(16),
    ts          DateTime64(3, 'Asia/Shanghai'),
    consumer_id String,
    key_id      String,
    dataset_id  String,
    channel     String,
    endpoint    String,
    method      String,
    status      UInt16,
    latency_ms  UInt32,
    rows        UInt64,
    bytes       UInt64,
    fields      Array(String),
    scenario    String,
    client_ip   String,
    user_agent  String,
    params      String,
    rule        String,
    reason      String
"""

# RFC 3339 date-time; the offset may be left out (then the time is Shanghai's). Escaped for SQL.
RFC3339 = r"^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?([Zz]|[+-]\\d{2}:?\\d{2})?$"

STAGE_COLUMNS = "line_no UInt64, line String, raw String, problem String"

# One pass over a chunk's lines (type inference from text is off: a ts string stays text).
# `kind(x)` names a JSON value's type for a person; the `multiIf` at the end stops at the
# line's first problem (short-circuit: the costly checks only run for lines that reach them).
# Epoch values below 2000-01-01 in milliseconds are almost always epoch seconds; the reason says so.
PARSE_LINES = f"""
INSERT INTO {{parsed:Identifier}}
WITH
    trim(TRAILING '\\r\\n' FROM if(raw = '', line, raw)) AS source_text,
    JSONExtract(line, '{_LINE_TYPE}') AS j,
    dynamicType(j.event_id) AS t_event_id, dynamicType(j.ts) AS t_ts,
    dynamicType(j.status) AS t_status, dynamicType(j.latency_ms) AS t_latency,
    dynamicType(j.rows) AS t_rows, dynamicType(j.bytes) AS t_bytes,
    dynamicType(j.fields) AS t_fields, dynamicType(j.client_ip) AS t_ip,
    ifNull(j.event_id.String, '') AS v_event_id,
    ifNull(j.ts.String, '') AS ts_text,
    coalesce(j.ts.Int64, toInt64(j.ts.UInt64), 0) AS ts_int,
    multiIf(t_ts = 'String', parseDateTime64BestEffortOrNull(ts_text, 3, 'Asia/Shanghai'),
            t_ts IN ('Int64', 'UInt64'), fromUnixTimestamp64Milli(ts_int, 'Asia/Shanghai'),
            NULL) AS ts_value,
    ifNull(j.channel.String, '') AS v_channel,
    upper(ifNull(j.method.String, '')) AS v_method,
    coalesce(j.status.Int64, toInt64(j.status.Float64), 0) AS v_status,
    coalesce(j.latency_ms.Int64, toInt64(j.latency_ms.Float64), 0) AS v_latency,
    coalesce(j.rows.Int64, toInt64(j.rows.Float64), 0) AS v_rows,
    coalesce(j.bytes.Int64, toInt64(j.bytes.Float64), 0) AS v_bytes,
    j.fields.`Array(Nullable(String))` AS v_fields,
    ifNull(j.client_ip.String, '') AS v_ip,
    toString(j.params) AS v_params,
    dynamicType(j.params) AS t_params,
    (x -> multiIf(x = 'String', 'text', x IN ('Int64', 'UInt64', 'Float64'), 'a number',
                  x = 'Bool', 'true/false', startsWith(x, 'Array'), 'an array', 'an object')) AS kind,
    (x -> if(lengthUTF8(x) > 60, concat(substringUTF8(x, 1, 60), '…'), x)) AS cut,
    (t -> t NOT IN ('String', 'None')) AS not_text,
    (v -> ifNull(v, 0) != floor(ifNull(v, 0))) AS fractional,
    multiIf(
        trim(BOTH ' \\t\\r\\n' FROM line) = '' AND problem = '', ('empty line', 'empty line'),
        problem != '', (if(startsWith(problem, 'row has'), 'wrong number of CSV cells', problem), problem),
        NOT isValidUTF8(line), ('not UTF-8', 'the line is not valid UTF-8 text'),
        position(line, '\\0') > 0, ('NUL byte', 'the line contains a NUL byte'),
        NOT startsWith(trimLeft(line), '{{'), ('not a JSON object', 'the line is not a JSON object'),
        NOT isValidJSON(line), ('malformed JSON', 'truncated or malformed JSON'),
        t_event_id = 'None' OR (t_event_id = 'String' AND v_event_id = ''),
            ('event_id missing', 'event_id is missing or empty'),
        t_event_id != 'String',
            ('event_id not text', concat('event_id must be text, not ', kind(t_event_id))),
        t_ts = 'None', ('ts missing', 'ts is missing'),
        t_ts NOT IN ('String', 'Int64', 'UInt64'),
            ('ts invalid', concat('ts must be an RFC 3339 time or epoch milliseconds, not ', kind(t_ts))),
        t_ts = 'String' AND (NOT match(ts_text, '{RFC3339}') OR ts_value IS NULL),
            ('ts invalid', concat('ts "', cut(ts_text), '" is not an RFC 3339 time or epoch milliseconds')),
        t_ts != 'String' AND ts_int < 946684800000 AND ts_int >= 946684800,
            ('ts out of range', concat('ts ', toString(ts_int),
                                       ' looks like epoch seconds; epoch milliseconds are expected')),
        ts_value < toDateTime64('2000-01-01 00:00:00', 3, 'Asia/Shanghai'),
            ('ts out of range', concat('ts ', toString(ts_value), ' is before 2000-01-01')),
        ts_value > now64(3) + INTERVAL 1 DAY,
            ('ts out of range', concat('ts ', toString(ts_value), ' is in the future')),
        not_text(dynamicType(j.consumer_id)),
            ('field not text', concat('consumer_id must be text, not ', kind(dynamicType(j.consumer_id)))),
        not_text(dynamicType(j.key_id)),
            ('field not text', concat('key_id must be text, not ', kind(dynamicType(j.key_id)))),
        not_text(dynamicType(j.dataset_id)),
            ('field not text', concat('dataset_id must be text, not ', kind(dynamicType(j.dataset_id)))),
        not_text(dynamicType(j.endpoint)),
            ('field not text', concat('endpoint must be text, not ', kind(dynamicType(j.endpoint)))),
        not_text(dynamicType(j.scenario)),
            ('field not text', concat('scenario must be text, not ', kind(dynamicType(j.scenario)))),
        not_text(dynamicType(j.user_agent)),
            ('field not text', concat('user_agent must be text, not ', kind(dynamicType(j.user_agent)))),
        dynamicType(j.channel) = 'None', ('channel missing', 'channel is missing'),
        v_channel NOT IN {CHANNELS},
            ('bad channel',
             concat('channel "', cut(toString(j.channel)), '" is not one of api, download, web')),
        not_text(dynamicType(j.method)) OR (v_method != '' AND v_method NOT IN {HTTP_METHODS}),
            ('bad method', concat('method "', cut(toString(j.method)), '" is not an HTTP method')),
        t_status = 'None', ('status missing', 'status is missing'),
        t_status NOT IN ('Int64', 'UInt64', 'Float64') OR fractional(j.status.Float64),
            ('status not a number', concat('status "', cut(toString(j.status)), '" is not a whole number')),
        t_status = 'UInt64' OR v_status < 100 OR v_status > 599,
            ('status out of range',
             concat('status ', toString(j.status), ' is not an HTTP status (100–599)')),
        t_latency NOT IN ('None', 'Int64', 'UInt64', 'Float64') OR fractional(j.latency_ms.Float64),
            ('not a whole number',
             concat('latency_ms "', cut(toString(j.latency_ms)), '" is not a whole number')),
        v_latency < 0, ('negative number', concat('latency_ms ', toString(v_latency), ' is negative')),
        t_latency = 'UInt64' OR v_latency > 4294967295,
            ('number too large', concat('latency_ms ', toString(j.latency_ms), ' is too large')),
        t_rows NOT IN ('None', 'Int64', 'UInt64', 'Float64') OR fractional(j.rows.Float64),
            ('not a whole number',
             concat('rows "', cut(toString(j.rows)), '" is not a whole number')),
        v_rows < 0, ('negative number', concat('rows ', toString(v_rows), ' is negative')),
        t_rows = 'UInt64', ('number too large', concat('rows ', toString(j.rows), ' is too large')),
        t_bytes NOT IN ('None', 'Int64', 'UInt64', 'Float64') OR fractional(j.bytes.Float64),
            ('not a whole number',
             concat('bytes "', cut(toString(j.bytes)), '" is not a whole number')),
        v_bytes < 0, ('negative number', concat('bytes ', toString(v_bytes), ' is negative')),
        t_bytes = 'UInt64', ('number too large', concat('bytes ', toString(j.bytes), ' is too large')),
        t_fields NOT IN ('None', 'Array(Nullable(String))') OR arrayExists(x -> x IS NULL, v_fields),
            ('bad fields', 'fields must be an array of text values'),
        t_ip = 'None' OR (t_ip = 'String' AND v_ip = ''), ('client_ip missing', 'client_ip is missing'),
        t_ip != 'String' OR NOT (isIPv4String(v_ip) OR isIPv6String(v_ip)),
            ('bad client_ip', concat('client_ip "', cut(toString(j.client_ip)),
                                     '" is not an IPv4 or IPv6 address')),
        t_params NOT IN ('None', 'JSON'), ('bad params', 'params must be a JSON object'),
        ('', '')
    ) AS verdict
SELECT
    line_no,
    if(verdict.1 = '', '', source_text) AS raw,
    v_event_id AS event_id,
    sipHash128(v_event_id) AS event_key,
    ifNull(ts_value, toDateTime64(0, 3, 'Asia/Shanghai')) AS ts,
    ifNull(j.consumer_id.String, '') AS consumer_id,
    ifNull(j.key_id.String, '') AS key_id,
    ifNull(j.dataset_id.String, '') AS dataset_id,
    v_channel AS channel,
    ifNull(j.endpoint.String, '') AS endpoint,
    v_method AS method,
    toUInt16(v_status) AS status,
    toUInt32(v_latency) AS latency_ms,
    toUInt64(greatest(v_rows, 0)) AS rows,
    toUInt64(greatest(v_bytes, 0)) AS bytes,
    arrayMap(x -> assumeNotNull(x), ifNull(v_fields, [])) AS fields,
    ifNull(j.scenario.String, '') AS scenario,
    v_ip AS client_ip,
    ifNull(j.user_agent.String, '') AS user_agent,
    if(t_params = 'None', '{{}}', v_params) AS params,
    verdict.1 AS rule,
    verdict.2 AS reason
FROM {{stage:Identifier}}
SETTINGS input_format_try_infer_datetimes = 0, input_format_try_infer_dates = 0
"""


# --- reference data: one value at a time (files are small) ---------------------------------------

class BadValue(ValueError):
    """A reference-data value that cannot be stored; the message is for a person."""


def parse_datetime(column: str, value: object, *, required: bool = True) -> datetime | None:
    """RFC 3339 / ISO 8601 text (no offset = Asia/Shanghai), a date, or epoch milliseconds."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadValue(f"{column} is missing")
        return None
    if isinstance(value, bool):
        raise BadValue(f"{column} {value!r} is not a date and time")
    if isinstance(value, int | float):
        if value < 946684800000:
            raise BadValue(f"{column} {value} is not epoch milliseconds after 2000")
        return datetime.fromtimestamp(value / 1000, tz=SHANGHAI)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadValue(f'{column} "{text[:40]}" is not a date and time (YYYY-MM-DD HH:MM:SS)') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(SHANGHAI)


def parse_date(column: str, value: object, *, required: bool = True) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadValue(f"{column} is missing")
        return None
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]) if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text) else \
            date.fromisoformat(text)
    except ValueError:
        raise BadValue(f'{column} "{text[:40]}" is not a date (YYYY-MM-DD)') from None


def parse_uint(column: str, value: object, *, required: bool = True, default: int = 0) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadValue(f"{column} is missing")
        return default
    if isinstance(value, bool):
        raise BadValue(f"{column} {value!r} is not a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise BadValue(f'{column} "{str(value)[:40]}" is not a whole number')
    if value < 0:
        raise BadValue(f"{column} {value} is negative")
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


def parse_json_array(column: str, value: object, *, of_text: bool = True) -> list:
    """A JSON array given as a list (JSONL) or as JSON text (CSV); empty = []."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise BadValue(f"{column} is not a JSON array") from None
    if not isinstance(value, list):
        raise BadValue(f"{column} must be a JSON array")
    if of_text and not all(isinstance(item, str) for item in value):
        raise BadValue(f"{column} must be a JSON array of text values")
    return value


def check_ip_or_network(column: str, value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise BadValue(f'{column} entry "{value[:40]}" is not an IP address or CIDR network') from None
    return value
