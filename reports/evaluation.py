"""The annual evaluation of each data-providing agency (第六条, 第七条, 第三十七条).

Seven dimensions with default points (DESIGN.md): quantity & scope 15, quality 25,
update timeliness 15, application review within 5 working days 15, utilisation 15,
feedback & complaints handling 10, security 5. `settings.evaluation_weights`
overrides any of them. Each dimension first becomes a ratio in [0, 1]:

- counts (datasets, domains, calls, consumers) are normalised across the agencies
  evaluated: against the best agency, calls and consumers on a log scale so one
  giant does not flatten everyone else;
- shares (on-time updates, reviews within 5 working days, complaint steps in time)
  are used as they are;

and points = weight × ratio. The total is the points over the weights assessed,
out of 100. A dimension with no inputs for any agency that year (say, no access
log yet) is left out of every total and named in the notes, rather than failing
everyone. A confirmed major incident (a violation of severity high or critical on
the agency's data) zeroes security and caps the grade at 合格 (total at most 74).
Every dimension keeps the inputs and the formula it came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.violations import list_violations
from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.applications import application_reviews, summarize_reviews
from reports.complaints import (
    SUSPEND_WITHIN_HOURS,
    VERIFY_WITHIN_WORKING_DAYS,
    complaint_timings,
    summarize_complaints,
)
from reports.filters import ReportFilters
from reports.quality import LATEST_CHECKS_OF_YEARS, agency_scores_by_year, quality_weights
from warehouse.cache import cached

DEFAULT_WEIGHTS: dict[str, float] = {
    "quantity": 15, "quality": 25, "timeliness": 15, "review_sla": 15,
    "utilisation": 15, "complaints": 10, "security": 5,
}
LABELS = {
    "quantity": "开放数量与范围", "quality": "数据质量", "timeliness": "更新及时性",
    "review_sla": "申请审核时效", "utilisation": "数据利用", "complaints": "反馈与投诉处理",
    "security": "安全",
}
LABELS_EN = {
    "quantity": "Quantity & scope", "quality": "Quality", "timeliness": "Update timeliness",
    "review_sla": "Review within 5 working days", "utilisation": "Utilisation",
    "complaints": "Feedback & complaints", "security": "Security",
}
QUALITY_LABELS = {
    "completeness": "完整性", "uniqueness": "唯一性", "validity": "有效性", "consistency": "一致性",
    "timeliness": "及时性", "metadata": "元数据", "openness": "开放性",
}
GRADES = ((90.0, "优秀"), (75.0, "良好"), (60.0, "合格"), (0.0, "不合格"))
CAPPED_TOTAL = 74.0
# Declared update frequency -> interval in days; "irregular" declares none and is not scored.
UPDATE_INTERVAL_DAYS = {
    "realtime": 1, "daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "yearly": 366,
}
FREQUENCY_LABELS = {
    "realtime": "实时", "daily": "每日", "weekly": "每周", "monthly": "每月", "quarterly": "每季度",
    "yearly": "每年",
}
WORST_DATASETS = 20      # in the annex
WORST_PER_AGENCY = 3     # named in each agency's lost points

# Each input is read for the years asked for (the evaluated one and the one before) in one
# query: `ARRAY JOIN` repeats the catalog once per year, and every row names its year.
CATALOG = """
SELECT
    year,
    d.agency_id                                                 AS agency_id,
    ag.name                                                     AS agency_name,
    count()                                                     AS datasets,
    countIf(d.open_class IN ('unconditional', 'conditional'))   AS open_datasets,
    countIf(d.open_class = 'unconditional')                     AS unconditional,
    countIf(d.open_class = 'conditional')                       AS conditional,
    uniqExact(d.domain)                                         AS domains,
    countIf(toYear(d.published_at) = year)                      AS new_datasets,
    countIf(d.has_sample = 1 AND d.open_class = 'conditional')  AS conditional_with_sample
FROM datasets AS d FINAL
ARRAY JOIN {years:Array(UInt16)} AS year
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = d.agency_id
WHERE d.published_at <= makeDate(year, 12, 31) AND d.status != 'withdrawn'
GROUP BY year, d.agency_id, ag.name
ORDER BY year, d.agency_id
"""

# Lag of each dataset's last update at the end of the period (the year's end, or today in the
# current year), against its declared frequency. The catalog keeps only the latest update
# time, so for a past year a dataset updated since then has lag 0 (counted on time): the lag
# is known only for the current state.
UPDATE_LAGS = """
SELECT
    year,
    agency_id,
    dataset_id,
    name,
    toString(update_frequency)                                  AS update_frequency,
    greatest(dateDiff('day', toDate(last_updated), least(makeDate(year, 12, 31), {today:Date})), 0)
                                                                AS lag_days
FROM datasets FINAL
ARRAY JOIN {years:Array(UInt16)} AS year
WHERE published_at <= makeDate(year, 12, 31) AND status != 'withdrawn' AND update_frequency != 'irregular'
ORDER BY year, agency_id, dataset_id
"""

# The latest quality check of each dataset in the year, of the datasets the evaluation names: the
# three worst of each agency (the reasons it lost points) and the worst overall (the annex). The
# agency means come from reports.quality.agency_scores over the same checks.
LATEST_QUALITY = """
SELECT q.year AS year, q.dataset_id AS dataset_id, q.agency_id AS agency_id, q.total AS total,
       q.losses AS losses, q.checked_at AS checked_at, d.name AS dataset_name
FROM (
    SELECT year, dataset_id, agency_id, total, losses, checked_at,
           row_number() OVER (PARTITION BY year, agency_id ORDER BY total, dataset_id) AS agency_rank,
           row_number() OVER (PARTITION BY year ORDER BY total, dataset_id)            AS overall_rank
    FROM (""" + LATEST_CHECKS_OF_YEARS + """)
) AS q
LEFT JOIN (SELECT dataset_id, name FROM datasets FINAL) AS d ON d.dataset_id = q.dataset_id
WHERE q.agency_rank <= {worst_per_agency:UInt32} OR q.overall_rank <= {worst_overall:UInt32}
ORDER BY q.year, q.total, q.dataset_id
"""

# Use of each agency's datasets in each year, from the rollups (reports/usage.py): sums per
# dataset first, so the catalog join touches thousands of rows, not millions.
UTILISATION = """
WITH
catalog AS (SELECT dataset_id, agency_id FROM datasets FINAL),
per_channel AS (
    -- Plain sums per year, dataset and channel: the engine reads them from the rollup's
    -- projection per_year_dataset_channel (migration 0600), which a condition on `day` itself
    -- would rule out.
    SELECT toYear(u.day) AS year, u.dataset_id AS dataset_id, u.channel AS channel,
           sum(u.calls) AS all_calls, sum(u.errors) AS failed, sum(u.rows) AS channel_rows
    FROM usage_daily_dataset AS u
    WHERE toYear(u.day) IN {years:Array(UInt16)}
    GROUP BY year, dataset_id, channel
),
per_dataset AS (
    SELECT year, dataset_id,
           sum(all_calls) - sum(failed)                           AS calls,
           sumIf(all_calls - failed, channel = 'download')        AS downloads,
           sum(channel_rows)                                      AS rows
    FROM per_channel
    GROUP BY year, dataset_id
),
sums AS (
    SELECT p.year AS year, c.agency_id AS agency_id, sum(p.calls) AS calls,
           sum(p.downloads) AS downloads, sum(p.rows) AS rows, countIf(p.calls > 0) AS used_datasets
    FROM per_dataset AS p INNER JOIN catalog AS c ON c.dataset_id = p.dataset_id
    GROUP BY year, agency_id
),
visitors AS (
    -- Each year's registered visitors of each dataset: from the projection
    -- per_year_dataset_visitor (migration 0601), a row per year, dataset and visitor.
    SELECT toYear(month) AS year, dataset_id, visitor
    FROM visitor_presence
    WHERE NOT anonymous AND toYear(month) IN {years:Array(UInt16)}
    GROUP BY year, dataset_id, anonymous, visitor
),
active AS (
    SELECT v.year AS year, c.agency_id AS agency_id, uniqExact(v.visitor) AS consumers
    FROM visitors AS v INNER JOIN catalog AS c ON c.dataset_id = v.dataset_id
    GROUP BY year, agency_id
)
SELECT s.year AS year, s.agency_id AS agency_id, s.calls AS calls, s.downloads AS downloads,
       s.rows AS rows, a.consumers AS consumers, s.used_datasets AS used_datasets
FROM sums AS s LEFT JOIN active AS a ON a.year = s.year AND a.agency_id = s.agency_id
"""

# The engine picks a projection by the marks it reads, and on a small platform a rollup's
# projections all read one or two: named, the yearly one is taken whatever the size.
YEAR_SUMS = {"preferred_optimize_projection_name": "per_year_dataset_channel"}


@dataclass
class DimensionScore:
    key: str
    label: str
    weight: float
    ratio: float | None              # None: not assessed this year
    inputs: dict[str, Any]
    formula: str
    lost: list[str] = field(default_factory=list)

    @property
    def points(self) -> float | None:
        return None if self.ratio is None else round(self.weight * self.ratio, 2)

    @property
    def lost_points(self) -> float:
        return 0.0 if self.ratio is None else round(self.weight - self.weight * self.ratio, 2)


@dataclass
class AgencyEvaluation:
    agency_id: str
    name: str
    dimensions: dict[str, DimensionScore]
    total: float
    uncapped_total: float
    grade: str
    capped: bool
    rank: int = 0
    previous_total: float | None = None
    previous_rank: int | None = None

    @property
    def change(self) -> float | None:
        return None if self.previous_total is None else round(self.total - self.previous_total, 2)

    @property
    def rank_change(self) -> int | None:
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass
class Evaluation:
    year: int
    as_of: date
    weights: dict[str, float]
    assessed: list[str]
    agencies: list[AgencyEvaluation]
    notes: list[str]
    key_figures: dict[str, Any]
    worst_datasets: list[dict]
    violations: list[dict]

    def agency(self, agency_id: str) -> AgencyEvaluation:
        return next(a for a in self.agencies if a.agency_id == agency_id)

    def ranking_rows(self) -> list[dict]:
        """The ranking table: one plain row per agency, dimension points as columns."""
        return [{
            "rank": a.rank, "agency_id": a.agency_id, "agency": a.name, "total": a.total, "grade": a.grade,
            **{LABELS[k]: a.dimensions[k].points for k in self.weights},
            "previous_total": a.previous_total, "change": a.change, "capped": a.capped,
        } for a in self.agencies]

    def dimension_rows(self) -> list[dict]:
        """Every score with its inputs: the traceability table."""
        return [{
            "agency_id": a.agency_id, "agency": a.name, "dimension": d.label, "weight": d.weight,
            "points": d.points, "ratio": None if d.ratio is None else round(d.ratio, 4),
            "formula": d.formula, "inputs": json.dumps(d.inputs, ensure_ascii=False, default=str),
            "lost": "；".join(d.lost),
        } for a in self.agencies for d in a.dimensions.values()]


def grade_for(total: float) -> str:
    return next(label for floor, label in GRADES if total >= floor)


def evaluation_weights(settings: Settings) -> dict[str, float]:
    """Default points overridden by `[evaluation_weights]` in the config."""
    unknown = set(settings.evaluation_weights) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise UserError(f"Unknown evaluation weight(s) {sorted(unknown)}; known: {sorted(DEFAULT_WEIGHTS)}.")
    weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in settings.evaluation_weights.items()}}
    if any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise UserError("Evaluation weights must be non-negative and not all zero.")
    return weights


def _rows(result) -> list[dict]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _log_share(value: float, best: float) -> float:
    return math.log1p(value) / math.log1p(best) if best > 0 else 0.0


def _quantity(agency: dict, best: dict) -> DimensionScore:
    open_ratio = _share(agency["open_datasets"], best["open_datasets"])
    domain_ratio = _share(agency["domains"], best["domains"])
    lost = []
    if open_ratio < 1:
        lost.append(f"开放数据集 {agency['open_datasets']} 个,最多的部门为 {best['open_datasets']} 个")
    if domain_ratio < 1:
        lost.append(f"覆盖领域 {agency['domains']} 个,最多的部门为 {best['domains']} 个")
    inputs = {k: agency[k] for k in ("datasets", "open_datasets", "unconditional", "conditional",
                                     "domains", "new_datasets")}
    inputs |= {"best_open_datasets": best["open_datasets"], "best_domains": best["domains"]}
    return DimensionScore("quantity", LABELS["quantity"], 0, 0.7 * open_ratio + 0.3 * domain_ratio, inputs,
                          "0.7 × 开放数据集/最多部门 + 0.3 × 覆盖领域/最多部门", lost)


def _quality(score: dict | None, checks: list[dict], open_datasets: int,
             quality_weights: dict[str, float]) -> DimensionScore:
    formula = "本年度各数据集最新质量分的平均值 / 100(reports.quality.agency_scores)"
    if score is None:
        return DimensionScore("quality", LABELS["quality"], 0, 0.0, {"checked_datasets": 0},
                              formula, ["年内无数据质量检测记录"])
    deficits = sorted(((quality_weights[d] - v, d, v) for d, v in score["dimensions"].items()
                       if d in quality_weights), reverse=True)
    lost = [f"质量维度“{QUALITY_LABELS.get(d, d)}”平均 {v:.1f}/{quality_weights[d]:g}"
            for deficit, d, v in deficits[:3] if deficit > 0.05]
    worst = sorted(checks, key=lambda c: (c["total"], c["dataset_id"]))[:WORST_PER_AGENCY]
    lost += [f"{c['dataset_name'] or c['dataset_id']} 质量分 {c['total']:.1f}"
             for c in worst if c["total"] < 100]
    if score["datasets"] < open_datasets:
        lost.append(f"{open_datasets - score['datasets']} 个开放数据集本年度未做质量检测")
    inputs = {"checked_datasets": score["datasets"], "profiled": score["profiled"],
              "open_datasets": open_datasets, "mean_score": score["score"],
              "quality_dimensions": score["dimensions"],
              "worst": [{"dataset_id": c["dataset_id"], "total": round(c["total"], 2)} for c in worst]}
    return DimensionScore("quality", LABELS["quality"], 0, score["score"] / 100, inputs, formula, lost)


def _dataset_timeliness(lag_days: int, interval: int) -> float:
    """Full marks within the declared interval, falling linearly to zero at twice it."""
    return min(max(2 - lag_days / interval, 0.0), 1.0)


def _timeliness(lags: list[dict]) -> DimensionScore:
    formula = "各数据集:滞后 ≤ 更新周期得满分,线性降至 2 倍周期为 0;取平均"
    if not lags:
        return DimensionScore("timeliness", LABELS["timeliness"], 0, 1.0, {"scheduled_datasets": 0},
                              formula, [])
    scored = [(row, _dataset_timeliness(row["lag_days"], UPDATE_INTERVAL_DAYS[row["update_frequency"]]))
              for row in lags if row["update_frequency"] in UPDATE_INTERVAL_DAYS]
    if not scored:
        return DimensionScore("timeliness", LABELS["timeliness"], 0, 1.0, {"scheduled_datasets": 0},
                              formula, [])
    late = sorted((pair for pair in scored if pair[1] < 1), key=lambda pair: pair[1])
    lost = [f"{row['name'] or row['dataset_id']} 滞后 {row['lag_days']} 天"
            f"(声明{FREQUENCY_LABELS.get(row['update_frequency'], row['update_frequency'])}更新)"
            for row, _ in late[:3]]
    if len(late) > 3:
        lost.append(f"另有 {len(late) - 3} 个数据集更新滞后")
    inputs = {"scheduled_datasets": len(scored), "on_time": sum(1 for _, s in scored if s == 1),
              "late": len(late), "late_datasets": [row["dataset_id"] for row, _ in late[:10]]}
    ratio = sum(s for _, s in scored) / len(scored)
    return DimensionScore("timeliness", LABELS["timeliness"], 0, ratio, inputs, formula, lost)


def _review_sla(sla: dict | None) -> DimensionScore:
    formula = "0.8 × 5 个工作日内办结占比(含已超期未办结) + 0.2 × 不予受理/驳回附理由占比"
    if sla is None or (sla["reviewed"] + sla["pending_overdue"] == 0 and sla["rejections"] == 0):
        return DimensionScore("review_sla", LABELS["review_sla"], 0, 1.0, {"applications": 0}, formula,
                              [])
    due = sla["reviewed"] + sla["pending_overdue"]
    within = _share(sla["within_sla"], due) if due else 1.0
    reasoned = 1 - _share(sla["missing_reason"], sla["rejections"]) if sla["rejections"] else 1.0
    lost = []
    if sla["overdue"] or sla["pending_overdue"]:
        lost.append(f"{sla['overdue']} 件审核超过 5 个工作日,{sla['pending_overdue']} 件逾期未办结")
    if sla["missing_reason"]:
        lost.append(f"{sla['missing_reason']} 件不予受理/驳回未一次性告知理由")
    inputs = {k: sla[k] for k in ("applications", "reviewed", "within_sla", "overdue", "pending_overdue",
                                  "median_working_days", "rejections", "missing_reason", "estimated")}
    if sla["estimated"]:
        lost.append("部分工作日按周一至周五估算(法定节假日日历未覆盖)")
    return DimensionScore("review_sla", LABELS["review_sla"], 0, 0.8 * within + 0.2 * reasoned, inputs,
                          formula, lost)


def _utilisation(usage: dict | None, best: dict, open_datasets: int) -> DimensionScore:
    usage = usage or {"calls": 0, "downloads": 0, "rows": 0, "consumers": 0, "used_datasets": 0}
    calls = _log_share(usage["calls"], best["calls"])
    consumers = _log_share(usage["consumers"], best["consumers"])
    used = min(_share(usage["used_datasets"], open_datasets), 1.0)
    lost = []
    if used < 1:
        lost.append(f"{max(open_datasets - usage['used_datasets'], 0)} 个开放数据集全年无人调用")
    if calls < 1:
        lost.append(f"有效调用 {usage['calls']:,} 次,最多的部门为 {best['calls']:,} 次")
    inputs = {**usage, "open_datasets": open_datasets, "best_calls": best["calls"],
              "best_consumers": best["consumers"]}
    formula = "0.5 × log调用/log最多 + 0.3 × 有调用数据集占比 + 0.2 × log用户/log最多"
    ratio = 0.5 * calls + 0.3 * used + 0.2 * consumers
    return DimensionScore("utilisation", LABELS["utilisation"], 0, ratio, inputs, formula, lost)


def _complaints(summary: dict | None) -> DimensionScore:
    formula = (f"每件投诉:0.4 × {SUSPEND_WITHIN_HOURS} 小时内中止 + 0.3 × {VERIFY_WITHIN_WORKING_DAYS}"
               " 个工作日内核实 + 0.3 × 已办结;取平均")
    if summary is None or summary["complaints"] == 0:
        return DimensionScore("complaints", LABELS["complaints"], 0, 1.0, {"complaints": 0}, formula, [])
    n = summary["complaints"]
    ratio = (0.4 * summary["suspended_in_time"] + 0.3 * summary["verified_in_time"]
             + 0.3 * (n - summary["pending"])) / n
    lost = []
    if summary["suspended_in_time"] < n:
        lost.append(f"{n - summary['suspended_in_time']} 件投诉未在 {SUSPEND_WITHIN_HOURS} 小时内中止开放")
    if summary["verified_in_time"] < n:
        late = n - summary["verified_in_time"]
        lost.append(f"{late} 件投诉未在 {VERIFY_WITHIN_WORKING_DAYS} 个工作日内核实")
    if summary["pending"]:
        lost.append(f"{summary['pending']} 件投诉尚未办结")
    inputs = {k: v for k, v in summary.items() if k not in ("agency_id", "agency_name")}
    return DimensionScore("complaints", LABELS["complaints"], 0, ratio, inputs, formula, lost)


def _security(violations: list[dict]) -> DimensionScore:
    major = [v for v in violations if v["major"]]
    minor = len(violations) - len(major)
    ratio = 0.0 if major else max(1 - 0.2 * minor, 0.0)
    lost = [f"重大安全事件 {len(major)} 起(等级封顶为合格)"] if major else []
    if minor:
        lost.append(f"一般违规 {minor} 起")
    inputs = {"violations": len(violations), "major": len(major), "minor": minor,
              "violation_ids": [v["violation_id"] for v in violations][:20]}
    return DimensionScore("security", LABELS["security"], 0, ratio, inputs,
                          "无重大事件时 1 - 0.2 × 一般违规数(不低于 0);有重大事件为 0", lost)


def _group(rows: list[dict], key: str = "agency_id") -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def _frame_by_agency(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["agency_id"]: row for row in frame.to_dicts()}


def _best(rows: list[dict], keys: tuple[str, ...]) -> dict[str, int]:
    return {k: max((r[k] for r in rows), default=0) for k in keys}


@dataclass
class _YearInputs:
    catalog: list[dict]
    lags: dict[str, list[dict]]
    quality: dict[str, list[dict]]
    quality_scores: dict[str, dict]
    quality_weights: dict[str, float]
    usage: dict[str, dict]
    sla: dict[str, dict]
    complaints: dict[str, dict]
    violations: dict[str, list[dict]]
    all_violations: list[dict]
    as_of: date


def _as_of(year: int, today: date) -> date:
    """The day a year is evaluated as of: its last day, or today for the current year."""
    return min(date(year, 12, 31), today)


def _by_year(rows: list[dict], years: tuple[int, ...]) -> dict[int, list[dict]]:
    """Rows of a query over several years, {year: its rows without the year column}."""
    split: dict[int, list[dict]] = {year: [] for year in years}
    for row in rows:
        split[row.pop("year")].append(row)
    return split


def _years_query(client: Client, sql: str, years: tuple[int, ...], settings: dict | None = None,
                 **params: Any) -> dict[int, list[dict]]:
    params = {"years": list(years), **params}
    return _by_year(_rows(client.query(sql, parameters=params, settings=settings)), years)


def _read_catalog(client: Client, years: tuple[int, ...], today: date) -> dict[int, list[dict]]:
    return _years_query(client, CATALOG, years)


def _read_lags(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, list[dict]]]:
    lags = _years_query(client, UPDATE_LAGS, years, today=today)
    return {year: _group(rows) for year, rows in lags.items()}


def _read_latest_quality(client: Client, years: tuple[int, ...],
                         today: date) -> dict[int, dict[str, list[dict]]]:
    checks = _years_query(client, LATEST_QUALITY, years, worst_per_agency=WORST_PER_AGENCY,
                          worst_overall=WORST_DATASETS)
    return {year: _group(rows) for year, rows in checks.items()}


def _read_quality_scores(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, dict]]:
    return {year: {row["agency_id"]: row for row in rows}
            for year, rows in agency_scores_by_year(client, years).items()}


def _read_usage(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, dict]]:
    return {year: {row["agency_id"]: row for row in rows}
            for year, rows in _years_query(client, UTILISATION, years, settings=YEAR_SUMS).items()}


def _span(years: tuple[int, ...]) -> ReportFilters:
    return ReportFilters(date_from=date(min(years), 1, 1), date_to=date(max(years), 12, 31))


# Record tables a year is cut from: the years wanted are read in one query and split here.
def _read_review_sla(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, dict]]:
    reviews = application_reviews(client, _span(years), as_of=today)
    period = pl.coalesce("accepted_day", "decided_day", "submitted_day").dt.year()   # as APPLICATIONS
    return {year: _frame_by_agency(summarize_reviews(reviews.filter(period == year))) for year in years}


def _read_complaints(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, dict]]:
    timings = complaint_timings(client, _span(years), as_of=today)
    received = pl.col("received_day").dt.year()                                          # as COMPLAINTS
    return {year: _frame_by_agency(summarize_complaints(timings.filter(received == year))) for year in years}


def _read_violations(client: Client, years: tuple[int, ...], today: date) -> dict[int, list[dict]]:
    violations = list_violations(client)
    return {year: [v for v in violations if v["recorded_at"].year == year] for year in years}


# Each input of a year's evaluation, read for the years given, {year: value}.
INPUTS: dict[str, Callable[[Client, tuple[int, ...], date], dict[int, Any]]] = {
    "sla": _read_review_sla,
    "usage": _read_usage,
    "lags": _read_lags,
    "quality": _read_latest_quality,
    "complaints": _read_complaints,
    "catalog": _read_catalog,
    "all_violations": _read_violations,
    "quality_scores": _read_quality_scores,
}


def _read_inputs(client: Client, years: tuple[int, ...], today: date) -> dict[int, dict[str, Any]]:
    """Every input, each read for all `years` in one go: {year: {input: value}}."""
    read = {name: reader(client, years, today) for name, reader in INPUTS.items()}
    return {year: {name: values[year] for name, values in read.items()} for year in years}


def _year_inputs(inputs: dict[str, Any], quality: dict[str, float], year: int, today: date) -> _YearInputs:
    return _YearInputs(**inputs, violations=_group(inputs["all_violations"]),
                       quality_weights=quality, as_of=_as_of(year, today))


def _score_agency(agency: dict, data: _YearInputs, best: dict) -> dict[str, DimensionScore]:
    agency_id = agency["agency_id"]
    return {
        "quantity": _quantity(agency, best),
        "quality": _quality(data.quality_scores.get(agency_id), data.quality.get(agency_id, []),
                            agency["open_datasets"], data.quality_weights),
        "timeliness": _timeliness(data.lags.get(agency_id, [])),
        "review_sla": _review_sla(data.sla.get(agency_id)),
        "utilisation": _utilisation(data.usage.get(agency_id), best, agency["open_datasets"]),
        "complaints": _complaints(data.complaints.get(agency_id)),
        "security": _security(data.violations.get(agency_id, [])),
    }


def _assessed(data: _YearInputs, weights: dict[str, float]) -> tuple[list[str], list[str]]:
    """Dimensions with inputs this year; one nobody has inputs for is left out of every total."""
    missing = {"quality": not data.quality_scores, "utilisation": not data.usage}
    notes = []
    if missing["quality"]:
        notes.append("本年度无数据质量检测记录,“数据质量”不计入总分")
    if missing["utilisation"]:
        notes.append("本年度无访问日志,“数据利用”不计入总分")
    assessed = [k for k in weights if weights[k] > 0 and not missing.get(k, False)]
    if not assessed:
        notes.append("没有可评估的维度:所有有权重的维度本年度均无输入")
    return assessed, notes


def _total(dimensions: dict[str, DimensionScore], assessed: list[str], weights: dict[str, float]) -> float:
    if not assessed:
        return 0.0
    earned = sum(dimensions[k].weight * dimensions[k].ratio for k in assessed)
    return round(100 * earned / sum(weights[k] for k in assessed), 2)


def _rank(agencies: list[AgencyEvaluation]) -> None:
    """Competition ranking: equal totals share a rank (1, 2, 2, 4)."""
    agencies.sort(key=lambda a: (-a.total, a.agency_id))
    for position, agency in enumerate(agencies, start=1):
        tied = position > 1 and agencies[position - 2].total == agency.total
        agency.rank = agencies[position - 2].rank if tied else position


def _evaluate_agencies(data: _YearInputs, weights: dict[str, float],
                       assessed: list[str]) -> list[AgencyEvaluation]:
    usage_rows = list(data.usage.values())
    best = _best(data.catalog, ("open_datasets", "domains")) | _best(usage_rows, ("calls", "consumers"))
    agencies = []
    for agency in data.catalog:
        dimensions = _score_agency(agency, data, best)
        for key, dimension in dimensions.items():
            dimension.weight = weights[key]
            if key not in assessed:
                dimension.ratio = None
        uncapped = _total(dimensions, assessed, weights)
        major = dimensions["security"].inputs["major"] > 0
        total = min(uncapped, CAPPED_TOTAL) if major else uncapped
        agencies.append(AgencyEvaluation(agency["agency_id"], agency["agency_name"] or agency["agency_id"],
                                         dimensions, total, uncapped, grade_for(total),
                                         major and uncapped > CAPPED_TOTAL))
    _rank(agencies)
    return agencies


def _worst_datasets(data: _YearInputs, names: dict[str, str]) -> list[dict]:
    checks = sorted((c for group in data.quality.values() for c in group),
                    key=lambda c: (c["total"], c["dataset_id"]))
    worst = []
    for check in checks[:WORST_DATASETS]:
        try:
            losses = json.loads(check["losses"] or "[]")
        except ValueError:
            losses = []
        issues = [x for x in losses if isinstance(x, dict)]
        issues.sort(key=lambda x: -float(x.get("points") or 0))
        agency_id, dataset_id = check["agency_id"], check["dataset_id"]
        worst.append({"dataset_id": dataset_id, "dataset": check["dataset_name"] or dataset_id,
                      "agency_id": agency_id, "agency": names.get(agency_id, agency_id),
                      "total": round(float(check["total"]), 2), "issues": issues[:5]})
    return worst


def _key_figures(data: _YearInputs, agencies: list[AgencyEvaluation]) -> dict[str, Any]:
    reviewed = sum(s["reviewed"] + s["pending_overdue"] for s in data.sla.values())
    within = sum(s["within_sla"] for s in data.sla.values())
    grades = {label: sum(1 for a in agencies if a.grade == label) for _, label in GRADES}
    return {
        "agencies": len(agencies),
        "open_datasets": sum(a["open_datasets"] for a in data.catalog),
        "new_datasets": sum(a["new_datasets"] for a in data.catalog),
        "calls": sum(u["calls"] for u in data.usage.values()),
        "downloads": sum(u["downloads"] for u in data.usage.values()),
        "applications_reviewed": reviewed,
        "share_within_5_working_days": round(within / reviewed, 4) if reviewed else None,
        "complaints": sum(c["complaints"] for c in data.complaints.values()),
        "violations": len(data.all_violations),
        "major_incidents": sum(1 for v in data.all_violations if v["major"]),
        "mean_total": round(sum(a.total for a in agencies) / len(agencies), 2) if agencies else None,
        "grades": grades,
        "sla_estimated": any(s["estimated"] for s in data.sla.values()),
    }


def _evaluate(quality: dict[str, float], weights: dict[str, float], year: int, today: date,
              inputs: dict[str, Any]) -> Evaluation:
    data = _year_inputs(inputs, quality, year, today)
    assessed, notes = _assessed(data, weights)
    agencies = _evaluate_agencies(data, weights, assessed)
    names = {a.agency_id: a.name for a in agencies}
    figures = _key_figures(data, agencies)
    if figures["sla_estimated"]:
        notes.append("部分审核时效按周一至周五估算:法定节假日安排尚未发布")
    return Evaluation(year, data.as_of, weights, assessed, agencies, notes, figures,
                      _worst_datasets(data, names), data.all_violations)


@cached
def _evaluation_with_previous(client: Client, year: int, today: date, weights: tuple[tuple[str, float], ...],
                              quality: tuple[tuple[str, float], ...]) -> Evaluation:
    """The evaluation of `year` with each agency's total and rank of the year before: both years'
    inputs are read together. Kept while the warehouse is unchanged (warehouse.cache): the page,
    the serve job and the exports share it."""
    inputs = _read_inputs(client, (year, year - 1), today)
    evaluation, previous_year = (_evaluate(dict(quality), dict(weights), y, today, inputs[y])
                                 for y in (year, year - 1))
    previous = {a.agency_id: a for a in previous_year.agencies}
    for agency in evaluation.agencies:
        if agency.agency_id in previous:
            agency.previous_total = previous[agency.agency_id].total
            agency.previous_rank = previous[agency.agency_id].rank
    return evaluation


def evaluate_year(client: Client, settings: Settings, year: int, today: date | None = None) -> Evaluation:
    """Evaluate every agency with open data by the end of `year`, with the change on the year before.

    Computed once per version of the warehouse's data, weights and day; each caller gets its own copy.
    """
    today = today or clock.today()
    if not 2000 <= year <= today.year:
        raise UserError(f"Cannot evaluate {year}: choose a year between 2000 and {today.year}.")
    weights = evaluation_weights(settings)
    return _evaluation_with_previous(client, year, today, tuple(weights.items()),
                                     tuple(quality_weights(settings).items()))
