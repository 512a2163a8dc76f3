"""Dataset quality scores, 0-100, per dataset, per agency and per year (第十六条, 第三十七条).

Seven dimensions (DESIGN.md "Quality score"; weights from `settings.quality_weights`):

- metadata, openness, timeliness: from the catalog (`datasets FINAL`);
- completeness, uniqueness, validity, consistency: from profiling a dataset file
  (reports.profiling) when one is given.

When no file is given for a dataset its content dimensions are never made up. The rule:
1. if the dataset was profiled in an earlier run, that profile's content points and
   losses are carried forward, with a note naming the run's date;
2. otherwise they are judged on what the catalog declares about the content — rows
   registered (completeness), unique field names (uniqueness), every field with a type
   that can be validated (validity), a declared schema at all (consistency) — and each
   such dimension carries a zero-point "not_profiled" cause saying so.
The stored row's `profiled` flag is 1 only when a file was profiled in that run.

Every point lost is one `Loss` (dimension, points, rule, field, count, example, cause),
stored as JSON in quality_checks beside the dimension points, one row per dataset per run.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.clock import SHANGHAI as TZ
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.filters import ReportFilters
from reports.profiling import KNOWN_TYPES, Profile, profile_file

DIMENSIONS = ("completeness", "uniqueness", "validity", "consistency", "timeliness", "metadata", "openness")
CONTENT_DIMENSIONS = DIMENSIONS[:4]
DEFAULT_WEIGHTS = {"completeness": 15.0, "uniqueness": 10.0, "validity": 15.0, "consistency": 5.0,
                   "timeliness": 15.0, "metadata": 20.0, "openness": 20.0}

# Share of bad cells (or rows) at which a content dimension's share reaches zero; below it the
# loss is linear. A file with half its cells empty has no completeness left; 10% duplicate rows
# is already as bad as it gets.
ZERO_AT = {"completeness": 0.5, "uniqueness": 0.1, "validity": 0.2, "consistency": 0.2}

# Declared update frequency -> (interval, grace) in days. Full timeliness within interval + grace,
# zero at twice that, linear between. "irregular" still owes one update a year.
FREQUENCY_DAYS = {
    "realtime": (1, 1), "daily": (1, 1), "weekly": (7, 2), "monthly": (31, 5),
    "quarterly": (92, 10), "semiannual": (183, 15), "yearly": (366, 30), "irregular": (366, 30),
}

# Format "stars" as a share of the openness weight (ckanext-qa, data.europa.eu MQA).
FORMAT_OPENNESS = {
    "api": 1.0, "csv": 1.0, "json": 1.0, "xml": 1.0, "geojson": 1.0, "rdf": 1.0, "jsonl": 1.0,
    "xlsx": 0.6, "xls": 0.6, "ods": 0.6,
    "pdf": 0.2, "doc": 0.2, "docx": 0.2, "wps": 0.0,
}

# Metadata sub-rules and their share of the metadata weight (out of 20).
METADATA_POINTS = {"name": 3, "description": 3, "field_descriptions": 5, "abbreviations": 3,
                   "publisher": 2, "update_frequency": 2, "dates": 2}

# Field-name tokens that read as abbreviations unless the field's description explains them.
ACCEPTED_TOKENS = {"id", "url", "uri", "api", "ip", "gps", "pdf", "csv", "json", "xml", "http", "https",
                   "email", "www", "gdp", "uuid", "utc"}
COMMON_ABBREVIATIONS = {"amt", "qty", "num", "cnt", "addr", "desc", "dept", "org", "no", "tel", "dt", "tm",
                        "nm", "cd", "typ", "stat", "info", "val", "seq", "ref", "reg", "loc"}
NO_DATE = date(1971, 1, 1)   # the engine's zero dates (1970-01-01) mean "never set"


@dataclass
class Loss:
    dimension: str
    points: float
    rule: str
    cause: str
    field: str = ""
    count: int = 0
    example: str = ""


@dataclass
class DatasetScore:
    dataset_id: str
    agency_id: str
    total: float
    dimensions: dict[str, float]
    losses: list[Loss] = field(default_factory=list)
    profiled: bool = False


# ---------------------------------------------------------------- weights


def quality_weights(settings: Settings | None) -> dict[str, float]:
    """Default weights with the operator's overrides from settings.quality_weights."""
    overrides = dict(getattr(settings, "quality_weights", None) or {})
    unknown = sorted(set(overrides) - set(DIMENSIONS))
    if unknown:
        raise UserError(f"Unknown quality weight(s) {', '.join(unknown)}; "
                        f"the dimensions are {', '.join(DIMENSIONS)}.")
    weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in overrides.items()}}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise UserError("Quality weights must be zero or positive and not all zero.")
    return weights


def _share_loss(weight: float, share: float, zero_at: float) -> float:
    return weight * min(1.0, share / zero_at) if share > 0 else 0.0


# ---------------------------------------------------------------- catalog dimensions


def score_timeliness(weight: float, frequency: str, last_updated: datetime | None,
                     at: datetime) -> tuple[float, list[Loss]]:
    """Full marks within interval + grace of the declared frequency, zero at twice that."""
    if frequency == "static":   # data that is not updated (第九条, 第十条) is never late
        return weight, []
    if last_updated is None or last_updated.date() < NO_DATE:
        return 0.0, [Loss("timeliness", weight, "never_updated", "目录未登记最近更新时间")]
    interval, grace = FREQUENCY_DAYS.get(frequency, FREQUENCY_DAYS["irregular"])
    allowed = interval + grace
    lag = max(0.0, (at - last_updated).total_seconds() / 86400)
    if lag <= allowed:
        return weight, []
    lost = weight * min(1.0, (lag - allowed) / allowed)
    return weight - lost, [Loss(
        "timeliness", lost, "update_overdue",
        f"按“{frequency or '未声明'}”更新频率应在 {allowed} 天内更新，距上次更新已 {lag:.0f} 天",
        count=int(lag), example=last_updated.astimezone(TZ).strftime("%Y-%m-%d"))]


def abbreviation_tokens(name: str) -> list[str]:
    """Tokens of a field name that read as abbreviations (pinyin initials, all-caps, short forms)."""
    tokens = re.split(r"[_\-\s.]+|(?<=[a-z])(?=[A-Z])", name)
    found = []
    for token in tokens:
        if not token.isascii() or not token.isalpha() or token.lower() in ACCEPTED_TOKENS:
            continue
        low = token.lower()
        all_caps = token.isupper() and 2 <= len(token) <= 6
        no_vowel = len(token) >= 2 and not re.search(r"[aeiou]", low)
        if all_caps or no_vowel or low in COMMON_ABBREVIATIONS:
            found.append(token)
    return found


def _parse_fields(raw: str) -> list[dict]:
    try:
        fields = json.loads(raw or "[]")
    except json.JSONDecodeError:
        return []
    return [f for f in fields if isinstance(f, dict) and f.get("name")] if isinstance(fields, list) else []


def _explained(spec: dict) -> bool:
    text = str(spec.get("description") or "").strip()
    return bool(text) and text != spec["name"]


def score_metadata(weight: float, ds: dict, publisher_known: bool) -> tuple[float, list[Loss]]:
    """Clear name, description, field descriptions, explained abbreviations, publisher, frequency, dates."""
    unit = weight / sum(METADATA_POINTS.values())
    losses: list[Loss] = []

    def lose(rule: str, share: float, cause: str, **kw) -> None:
        losses.append(Loss("metadata", METADATA_POINTS[rule] * unit * share, rule, cause, **kw))

    name = (ds.get("name") or "").strip()
    if not name:
        lose("name", 1, "缺少数据集名称")
    elif name == ds["dataset_id"] or re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        lose("name", 1, "名称是编码而非可读的名称", example=name)
    elif len(name) < 4:
        lose("name", 0.5, "名称过短，不能说明内容", example=name)
    description = (ds.get("description") or "").strip()
    if not description:
        lose("description", 1, "缺少数据集描述")
    elif len(description) < 20 or description == name:
        lose("description", 0.5, "描述过短（少于20字）或与名称相同", example=description[:40])
    fields = _parse_fields(ds.get("fields", ""))
    if not fields:
        lose("field_descriptions", 1, "未登记字段清单")
    else:
        bare = [f["name"] for f in fields if not _explained(f)]
        if bare:
            lose("field_descriptions", len(bare) / len(fields),
                 f"{len(bare)}/{len(fields)} 个字段缺少说明", count=len(bare), example=", ".join(bare[:5]))
        unexplained = [f["name"] for f in fields if abbreviation_tokens(f["name"]) and not _explained(f)]
        if unexplained:
            lose("abbreviations", min(1.0, len(unexplained) / 3),
                 f"{len(unexplained)} 个字段名为未解释的缩写", count=len(unexplained),
                 example=", ".join(unexplained[:5]))
    if not publisher_known:
        lose("publisher", 1, "未登记或无法识别数据开放主体", example=ds.get("agency_id") or "")
    frequency = ds.get("update_frequency") or ""
    if frequency not in FREQUENCY_DAYS and frequency != "static":
        lose("update_frequency", 1, "未声明有效的更新频率", example=frequency)
    elif frequency == "irregular":
        lose("update_frequency", 0.5, "更新频率为“不定期”", example=frequency)
    published = ds.get("published_at")
    if published is None or published < NO_DATE:
        lose("dates", 0.5, "未登记发布日期")
    updated = ds.get("last_updated")
    if updated is None or updated.date() < NO_DATE:
        lose("dates", 0.5, "未登记最近更新时间")
    return weight - sum(x.points for x in losses), losses


def score_openness(weight: float, fmt: str) -> tuple[float, list[Loss]]:
    """Open, machine-readable formats full; spreadsheets middle; documents low; proprietary zero."""
    fmt = (fmt or "").strip().lower()
    share = FORMAT_OPENNESS.get(fmt, 0.0)
    if share >= 1.0:
        return weight, []
    if fmt not in FORMAT_OPENNESS:
        cause = f"格式“{fmt or '未声明'}”为专有或未知格式"
    elif share >= 0.5:
        cause = f"格式 {fmt.upper()} 需电子表格软件读取，非开放机读格式"
    else:
        cause = f"格式 {fmt.upper()} 为版式文档，难以机器读取"
    return weight * share, [Loss("openness", weight * (1 - share), f"format_{fmt or 'missing'}",
                                 cause, example=fmt)]


# ---------------------------------------------------------------- content dimensions


def score_content(weights: dict[str, float], profile: Profile) -> dict[str, tuple[float, list[Loss]]]:
    """Completeness, uniqueness, validity and consistency from a file profile."""
    return {
        "completeness": _completeness(weights["completeness"], profile),
        "uniqueness": _uniqueness(weights["uniqueness"], profile),
        "validity": _validity(weights["validity"], profile),
        "consistency": _consistency(weights["consistency"], profile),
    }


def _completeness(weight: float, profile: Profile) -> tuple[float, list[Loss]]:
    if profile.rows == 0:
        return 0.0, [Loss("completeness", weight, "no_rows", "数据文件没有数据行")]
    share = weight / len(profile.fields)
    losses = []
    for fp in profile.fields:
        lost = _share_loss(share, fp.nulls / profile.rows, ZERO_AT["completeness"])
        if lost:
            losses.append(Loss("completeness", lost, "null_cells",
                               f"字段 {fp.name} 有 {fp.nulls}/{profile.rows} 个空值", field=fp.name,
                               count=fp.nulls, example=f"第 {fp.null_example_row} 行"))
    return weight - sum(x.points for x in losses), losses


def _uniqueness(weight: float, profile: Profile) -> tuple[float, list[Loss]]:
    if profile.rows == 0:
        return 0.0, [Loss("uniqueness", weight, "no_rows", "数据文件没有数据行")]
    row_part = weight / 2 if profile.key else weight
    losses = []
    lost = _share_loss(row_part, profile.duplicate_rows / profile.rows, ZERO_AT["uniqueness"])
    if lost:
        losses.append(Loss("uniqueness", lost, "duplicate_rows",
                           f"{profile.duplicate_rows}/{profile.rows} 行与其他行完全重复",
                           count=profile.duplicate_rows, example=profile.duplicate_row_example))
    if profile.key:
        lost = _share_loss(weight / 2, profile.duplicate_keys / profile.rows, ZERO_AT["uniqueness"])
        if lost:
            losses.append(Loss("uniqueness", lost, "duplicate_keys",
                               f"主键 {profile.key} 有 {profile.duplicate_keys} 个重复值", field=profile.key,
                               count=profile.duplicate_keys, example=profile.duplicate_key_example))
    return weight - sum(x.points for x in losses), losses


RULE_TEXT = {"type": "值不符合声明类型", "format": "格式错误", "checksum": "统一社会信用代码校验位错误",
             "impossible_date": "不可能的日期", "value_set": "值不在允许的取值范围内"}


def _validity(weight: float, profile: Profile) -> tuple[float, list[Loss]]:
    checked = [fp for fp in profile.fields if fp.checked or fp.findings]
    if not checked:
        return weight, [Loss("validity", 0.0, "nothing_to_check",
                             "没有可校验类型的字段（如整数、日期、信用代码）")]
    share = weight / len(checked)
    losses = []
    for fp in checked:
        bad = sum(f.count for f in fp.findings)
        lost = _share_loss(share, bad / max(fp.checked, 1), ZERO_AT["validity"])
        for finding in fp.findings:
            losses.append(Loss("validity", lost * finding.count / bad, finding.rule,
                               f"字段 {fp.name}：{finding.count}/{fp.checked} 个{RULE_TEXT[finding.rule]}",
                               field=fp.name, count=finding.count, example=finding.example))
    return weight - sum(x.points for x in losses), losses


def _consistency(weight: float, profile: Profile) -> tuple[float, list[Loss]]:
    """Equal shares for: declared vs actual columns, one date layout per column, start <= end pairs."""
    checks: list[tuple[float, Loss]] = []
    if profile.missing_fields or profile.extra_columns or any(fp.declared_type for fp in profile.fields):
        mismatched = profile.missing_fields + profile.extra_columns
        universe = len(set(profile.columns) | set(profile.missing_fields))
        checks.append((len(mismatched) / universe, Loss(
            "consistency", 0.0, "schema_mismatch",
            f"文件与目录字段不一致：缺少 {len(profile.missing_fields)} 个登记字段，多出 "
            f"{len(profile.extra_columns)} 个未登记列", count=len(mismatched),
            example=", ".join(mismatched[:5]))))
    for fp in profile.fields:
        if fp.date_layouts:
            minority = sum(fp.date_layouts.values()) - max(fp.date_layouts.values())
            checks.append((minority / max(fp.checked, 1), Loss(
                "consistency", 0.0, "mixed_date_formats",
                f"字段 {fp.name} 混用 {len(fp.date_layouts)} 种日期格式", field=fp.name, count=minority,
                example=", ".join(sorted(fp.date_layouts)))))
    for start, end, disorder, example in profile.order_checks:
        checks.append((disorder / max(profile.rows, 1), Loss(
            "consistency", 0.0, "start_after_end", f"{disorder} 行的 {start} 晚于 {end}",
            field=f"{start},{end}", count=disorder, example=example)))
    if not checks:
        return weight, [Loss("consistency", 0.0, "nothing_to_check",
                             "没有可比对的字段（目录字段、日期、起止）")]
    losses = []
    for share, loss in checks:
        loss.points = _share_loss(weight / len(checks), share, ZERO_AT["consistency"])
        if loss.points:
            losses.append(loss)
    return weight - sum(x.points for x in losses), losses


NOT_PROFILED = "未提供数据文件，未剖析内容；本项按目录登记信息评分"


def score_declared(weights: dict[str, float], ds: dict) -> dict[str, tuple[float, list[Loss]]]:
    """Content dimensions when no file was ever profiled: judged on what the catalog declares."""
    fields = _parse_fields(ds.get("fields", ""))
    out: dict[str, tuple[float, list[Loss]]] = {}
    notes = {d: Loss(d, 0.0, "not_profiled", NOT_PROFILED) for d in CONTENT_DIMENSIONS}

    def dim(name: str, losses: list[Loss]) -> None:
        out[name] = (weights[name] - sum(x.points for x in losses), [notes[name], *losses])

    w = weights
    dim("completeness", [] if ds.get("row_count") else [
        Loss("completeness", w["completeness"], "no_rows_declared", "目录登记的数据量为 0")])
    if not fields:
        for name in ("uniqueness", "validity", "consistency"):
            dim(name, [Loss(name, w[name], "no_fields_declared", "未登记字段清单，无法判断")])
        return out
    names = [f["name"] for f in fields]
    repeated = sorted({n for n in names if names.count(n) > 1})
    dup_count = len(names) - len(set(names))
    dim("uniqueness", [Loss("uniqueness", w["uniqueness"] * dup_count / len(names), "duplicate_field_names",
                            f"字段清单中有 {dup_count} 个重名字段", count=dup_count,
                            example=", ".join(repeated[:5]))] if dup_count else [])
    untyped = [f["name"] for f in fields if str(f.get("type") or "").strip().lower() not in KNOWN_TYPES]
    dim("validity", [Loss("validity", w["validity"] * len(untyped) / len(fields), "untyped_fields",
                          f"{len(untyped)}/{len(fields)} 个字段未声明可校验的类型", count=len(untyped),
                          example=", ".join(untyped[:5]))] if untyped else [])
    dim("consistency", [])
    return out


def carried_forward(previous: dict) -> dict[str, tuple[float, list[Loss]]]:
    """Content points and losses of the dataset's last profiled check, with a note of its date."""
    when = previous["last_checked_at"].astimezone(TZ).strftime("%Y-%m-%d")
    old = [Loss(**x) for x in json.loads(previous["losses"] or "[]")]
    out = {}
    for name in CONTENT_DIMENSIONS:
        note = Loss(name, 0.0, "carried_forward", f"本次未提供数据文件，沿用 {when} 的文件剖析结果",
                    example=previous["run_id"])
        out[name] = (float(previous["dimensions"].get(name, 0.0)),
                     [note, *[x for x in old if x.dimension == name]])
    return out


# ---------------------------------------------------------------- one dataset


def score_dataset(ds: dict, weights: dict[str, float], at: datetime, *, publisher_known: bool = True,
                  profile: Profile | None = None, previous: dict | None = None) -> DatasetScore:
    """Score one catalog row; content from `profile`, else `previous` profiled check, else the catalog."""
    parts: dict[str, tuple[float, list[Loss]]] = {
        "timeliness": score_timeliness(weights["timeliness"], ds.get("update_frequency") or "",
                                       ds.get("last_updated"), at),
        "metadata": score_metadata(weights["metadata"], ds, publisher_known),
        "openness": score_openness(weights["openness"], ds.get("format") or ""),
    }
    if profile is not None:
        parts.update(score_content(weights, profile))
    elif previous is not None:
        parts.update(carried_forward(previous))
    else:
        parts.update(score_declared(weights, ds))
    dimensions = {d: round(max(0.0, parts[d][0]), 3) for d in DIMENSIONS}
    losses = [x for d in DIMENSIONS for x in parts[d][1]]
    for loss in losses:
        loss.points = round(loss.points, 3)
    total = 100 * sum(dimensions.values()) / sum(weights.values())
    return DatasetScore(ds["dataset_id"], ds.get("agency_id") or "", round(total, 2), dimensions,
                        sorted(losses, key=lambda x: -x.points), profiled=profile is not None)


# ---------------------------------------------------------------- the scan


CATALOG = """
SELECT d.dataset_id AS dataset_id, d.agency_id AS agency_id, d.name AS name,
       d.description AS description, d.domain AS domain, d.format AS format, d.fields AS fields,
       d.update_frequency AS update_frequency, d.published_at AS published_at,
       d.last_updated AS last_updated, d.status AS status, d.row_count AS row_count,
       a.agency_id != '' AS publisher_known
FROM (SELECT * FROM datasets FINAL) AS d
LEFT JOIN (SELECT agency_id FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
ORDER BY d.dataset_id
"""

LAST_PROFILED = """
SELECT dataset_id, run_id, checked_at AS last_checked_at, dimensions, losses
FROM quality_checks
WHERE profiled = 1
ORDER BY dataset_id, checked_at DESC, run_id DESC
LIMIT 1 BY dataset_id
"""

QUALITY_COLUMNS = ["run_id", "dataset_id", "agency_id", "checked_at", "total", "dimensions", "losses",
                   "profiled"]


def _rows(client: Client, sql: str, params: dict | None = None) -> list[dict]:
    result = client.query(sql, parameters=params or {})
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def scan_catalog(client: Client, settings: Settings, files: dict[str, Path] | None = None, *,
                 at: datetime | None = None, progress: bool = False) -> str:
    """Score every dataset of the catalog, profiling the files given per dataset_id; returns the run id."""
    weights = quality_weights(settings)
    catalog = _rows(client, CATALOG)
    known = {ds["dataset_id"] for ds in catalog}
    files = {k: Path(v) for k, v in (files or {}).items()}
    unknown = sorted(set(files) - known)
    if unknown:
        raise UserError(f"No dataset {', '.join(unknown)} in the catalog; load the catalog first or "
                        "name the file after its dataset id.")
    for dataset_id, path in files.items():
        if not path.is_file():
            raise UserError(f"No such file for dataset {dataset_id}: {path}")
    at = clock.shanghai(at or clock.now())
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    previous = {row["dataset_id"]: row for row in _rows(client, LAST_PROFILED)}
    run_id = f"q{at:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    rows = []
    for ds in _progress(catalog, progress):
        declared = _parse_fields(ds["fields"])
        profile = profile_file(files[ds["dataset_id"]], declared) if ds["dataset_id"] in files else None
        score = score_dataset(ds, weights, at, publisher_known=bool(ds["publisher_known"]),
                              profile=profile, previous=previous.get(ds["dataset_id"]))
        rows.append([run_id, score.dataset_id, score.agency_id, at, score.total, score.dimensions,
                     json.dumps([asdict(x) for x in score.losses], ensure_ascii=False), int(score.profiled)])
    if rows:
        client.insert("quality_checks", rows, column_names=QUALITY_COLUMNS)
    return run_id


def _progress(items: list, on: bool):
    if not on:
        return items
    from rich.progress import track

    return track(items, description="Scoring datasets")


# ---------------------------------------------------------------- queries for pages and reports


# The latest check of each dataset: `LIMIT 1 BY` over the checks sorted newest first. argMax of the
# dimensions map costs the engine ten times more for the same answer.
LATEST_PER_DATASET = """
SELECT q.dataset_id AS dataset_id, q.run_id AS run_id, q.checked_at AS checked_at, q.total AS total,
       q.dimensions AS dimensions, q.profiled AS profiled, q.agency_id AS agency_id,
       arrayCount(x -> JSONExtractFloat(x, 'points') > 0, JSONExtractArrayRaw(q.losses)) AS causes,
       d.name AS name, d.domain AS domain, d.format AS format, d.update_frequency AS update_frequency,
       a.name AS agency_name
FROM (
    SELECT dataset_id, run_id, checked_at, total, dimensions, profiled, agency_id, losses
    FROM quality_checks
    WHERE toDate(checked_at) <= {date_to:Date}
    ORDER BY dataset_id, checked_at DESC, run_id DESC
    LIMIT 1 BY dataset_id
) AS q
LEFT JOIN (SELECT dataset_id, name, domain, format, update_frequency FROM datasets FINAL) AS d
    ON d.dataset_id = q.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = q.agency_id
WHERE ({agency_id:String} = '' OR q.agency_id = {agency_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
  AND ({dataset_id:String} = '' OR q.dataset_id = {dataset_id:String})
ORDER BY total, dataset_id
"""


def dataset_scores(client: Client, filters: ReportFilters) -> list[dict]:
    """Each dataset's latest score as of filters.date_to, worst first, with its dimension points."""
    rows = _rows(client, LATEST_PER_DATASET, filters.as_params())
    for row in rows:
        row["dimensions"] = {d: round(float(row["dimensions"].get(d, 0.0)), 2) for d in DIMENSIONS}
        row["total"] = round(float(row["total"]), 2)
        row["profiled"] = bool(row["profiled"])
    return rows


# The latest check of each dataset in each of the years asked for: the rows the agency means
# and the evaluation read. Several years in one query, since the evaluation looks at two.
LATEST_CHECKS_OF_YEARS = """
    SELECT toYear(checked_at) AS year, dataset_id, agency_id, total, dimensions, profiled, losses,
           checked_at
    FROM quality_checks
    WHERE toYear(checked_at) IN {years:Array(UInt16)}
    ORDER BY year, dataset_id, checked_at DESC, run_id DESC
    LIMIT 1 BY year, dataset_id
"""

AGENCY_SCORES = """
SELECT q.year                                       AS year,
       q.agency_id                                  AS agency_id,
       any(a.name)                                  AS agency_name,
       avg(q.total)                                 AS score,
       count()                                      AS datasets,
       sum(q.profiled)                              AS profiled,
       avgMap(q.dimensions)                         AS dimensions,
       argMin(q.dataset_id, (q.total, q.dataset_id)) AS worst_dataset_id,
       min(q.total)                                 AS worst_score
FROM (""" + LATEST_CHECKS_OF_YEARS + """) AS q
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = q.agency_id
WHERE {agency_id:String} = '' OR q.agency_id = {agency_id:String}
GROUP BY q.year, q.agency_id
"""


def agency_scores(client: Client, year: int, agency_id: str | None = None) -> list[dict]:
    """Per agency, the mean of its datasets' latest scores of the year (total and each dimension)."""
    return agency_scores_by_year(client, (year,), agency_id)[year]


def agency_scores_by_year(client: Client, years: tuple[int, ...],
                          agency_id: str | None = None) -> dict[int, list[dict]]:
    """`agency_scores` of each year, {year: rows}, best first, read in one query."""
    by_year: dict[int, list[dict]] = {year: [] for year in years}
    params = {"years": list(years), "agency_id": agency_id or ""}
    for row in _rows(client, AGENCY_SCORES, params):
        by_year[row["year"]].append({
            "agency_id": row["agency_id"], "agency_name": row["agency_name"] or row["agency_id"],
            "year": row["year"], "score": round(row["score"], 2), "datasets": row["datasets"],
            "profiled": row["profiled"],
            "dimensions": {d: round(float(row["dimensions"].get(d, 0.0)), 2) for d in DIMENSIONS},
            "worst_dataset_id": row["worst_dataset_id"], "worst_score": round(float(row["worst_score"]), 2),
        })
    return {year: sorted(rows, key=lambda r: (-r["score"], r["agency_id"])) for year, rows in by_year.items()}


TREND = """
SELECT run_id, min(checked_at) AS started_at, avg(total) AS score, count() AS datasets,
       sum(profiled) AS profiled
FROM quality_checks
WHERE ({dataset_id:String} = '' OR dataset_id = {dataset_id:String})
  AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
GROUP BY run_id
ORDER BY started_at
"""


def score_trend(client: Client, dataset_id: str | None = None, agency_id: str | None = None) -> list[dict]:
    """The mean score of each check run, oldest first, for one dataset, one agency, or all."""
    rows = _rows(client, TREND, {"dataset_id": dataset_id or "", "agency_id": agency_id or ""})
    for row in rows:
        row["score"] = round(float(row["score"]), 2)
        row["checked_at"] = row.pop("started_at")
    return rows


LATEST_LOSSES = """
SELECT run_id, checked_at AS last_checked_at, losses
FROM quality_checks
WHERE dataset_id = {dataset_id:String}
ORDER BY checked_at DESC, run_id DESC
LIMIT 1
"""


def lost_points(client: Client, dataset_id: str) -> list[dict]:
    """The causes of the dataset's latest score, largest loss first (zero-point notes last)."""
    rows = _rows(client, LATEST_LOSSES, {"dataset_id": dataset_id})
    if not rows:
        return []
    row = rows[0]
    losses = json.loads(row["losses"] or "[]")
    for loss in losses:
        loss.update(dataset_id=dataset_id, run_id=row["run_id"], checked_at=row["last_checked_at"])
    return sorted(losses, key=lambda x: (-x["points"], x["dimension"]))


CATALOG_FOR_UPDATES = """
SELECT d.dataset_id AS dataset_id, d.name AS name, d.agency_id AS agency_id, a.name AS agency_name,
       d.domain AS domain, d.update_frequency AS update_frequency, d.last_updated AS last_updated
FROM (SELECT * FROM datasets FINAL) AS d
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS a ON a.agency_id = d.agency_id
WHERE d.status != 'withdrawn'
  AND ({agency_id:String} = '' OR d.agency_id = {agency_id:String})
  AND ({domain:String} = '' OR d.domain = {domain:String})
  AND ({dataset_id:String} = '' OR d.dataset_id = {dataset_id:String})
"""


def overdue_updates(client: Client, filters: ReportFilters, at: datetime | None = None) -> list[dict]:
    """Datasets not updated within their declared interval plus grace, most overdue first."""
    at = clock.shanghai(at or clock.now())
    out = []
    for row in _rows(client, CATALOG_FOR_UPDATES, filters.as_params()):
        if row["update_frequency"] == "static":
            continue
        interval, grace = FREQUENCY_DAYS.get(row["update_frequency"], FREQUENCY_DAYS["irregular"])
        updated = row["last_updated"]
        if updated is None or updated.date() < NO_DATE:
            row.update(due=None, days_overdue=None, never_updated=True)
            out.append(row)
            continue
        due = updated + timedelta(days=interval + grace)
        if at > due:
            row.update(due=due, days_overdue=(at - due).days, never_updated=False)
            out.append(row)
    return sorted(out, key=lambda r: (not r["never_updated"], -(r["days_overdue"] or 0), r["dataset_id"]))
