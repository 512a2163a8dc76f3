"""The annual evaluation of each data-providing agency (第三十七条: the evaluation mechanism).

Seven dimensions with default points (DESIGN.md): quantity & scope 15, quality 25, update
timeliness 15, application review within 5 working days 15, utilisation 15, feedback &
complaints handling 10, security 5; `[evaluation_weights]` overrides any of them. Each dimension
becomes a ratio in [0, 1], and points = weight × ratio. The rules that keep it defensible:

- Unmeasured is not full marks. A dimension with nothing to measure for an agency is "无此事项"
  (no applications, no complaints, no dataset with a declared update schedule); one whose
  inputs are missing is "未评估" (no access log that year, no quality check). Either is left out
  of the agency's denominator, and the share of the points that were evaluated is shown.
- Quality counts only the dimensions that were measured: the content dimensions (completeness,
  uniqueness, validity, consistency) only for datasets whose file was profiled; the others are
  "未评估" for that dataset. Means cover the open datasets the catalog counts (无条件/有条件开放,
  not withdrawn, published by the end of the year), nothing else.
- One timeliness rule, counted once: the quality score's (reports.quality.score_timeliness), in
  the timeliness dimension only; the quality dimension leaves it out. Static data, data declared
  irregular (第九条(五)) and withdrawn datasets (第十条(二)) are never late.
- Score what the agency controls. Security: suspending data at once on a complaint where it finds
  it necessary (第二十六条: "立即中止开放", no number given; this console measures it as within
  SUSPEND_WITHIN_HOURS, and verification as within VERIFY_WITHIN_WORKING_DAYS, both said so in the
  method table), and not having opened data it had to withdraw. Consumers' violations (第三十一条)
  are shown as context, never charged to the agency whose data was misused. Quantity is the share of the
  agency's own listed datasets that are actually open, not a comparison with the largest agency.
- Past years read the catalog as it was (migration 0800's history); a published or final year
  is read back from its stored snapshot, never computed again: `evaluation_store.evaluate_year`
  is the entry point, this module computes a year.
- Year over year only on the dimensions both years measured for the agency, the basis stated;
  otherwise "不可比" with the reason.

Every dimension keeps its inputs, its rule (in Chinese, as printed in the report's method
table) and the reasons it lost points.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.violations import list_violations, mask_person_name
from odwatch import clock
from odwatch.errors import UserError
from odwatch.i18n import chinese_date
from odwatch.settings import Settings
from odwatch.vocabulary import MAJOR_SEVERITIES, SEVERITY_LABELS
from reports.applications import application_reviews, summarize_reviews
from reports.complaints import SUSPEND_WITHIN_HOURS, VERIFY_WITHIN_WORKING_DAYS, complaint_timings
from reports.filters import ReportFilters
from reports.quality import CONTENT_DIMENSIONS, score_timeliness
from reports.usage import log_days
from warehouse.cache import cached

DEFAULT_WEIGHTS: dict[str, float] = {
    "quantity": 15,
    "quality": 25,
    "timeliness": 15,
    "review_sla": 15,
    "utilisation": 15,
    "complaints": 10,
    "security": 5,
}
LABELS = {
    "quantity": "开放数量与范围",
    "quality": "数据质量",
    "timeliness": "更新及时性",
    "review_sla": "申请审核时效",
    "utilisation": "数据利用",
    "complaints": "反馈与投诉处理",
    "security": "安全管理",
}
LABELS_EN = {
    "quantity": "Quantity & scope",
    "quality": "Quality",
    "timeliness": "Update timeliness",
    "review_sla": "Review within 5 working days",
    "utilisation": "Utilisation",
    "complaints": "Feedback & complaints",
    "security": "Security",
}
QUALITY_LABELS = {
    "completeness": "完整性",
    "uniqueness": "唯一性",
    "validity": "有效性",
    "consistency": "一致性",
    "timeliness": "及时性",
    "metadata": "元数据",
    "openness": "开放性",
}
FREQUENCY_LABELS = {
    "realtime": "实时",
    "daily": "每日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "semiannual": "每半年",
    "yearly": "每年",
    "irregular": "不定期",
    "static": "静态",
}
OPEN_CLASSES = ("unconditional", "conditional")
NEVER_LATE = ("static", "irregular")  # 第九条(五): no schedule declared, never late
GRADES = ((90.0, "优秀"), (75.0, "良好"), (60.0, "合格"), (0.0, "不合格"))
SCORED, UNMEASURED, NOT_APPLICABLE = "scored", "unmeasured", "not_applicable"
STATUS_TEXT = {SCORED: "", UNMEASURED: "未评估", NOT_APPLICABLE: "无此事项"}
WORST_DATASETS = 20  # in the annex
WORST_PER_AGENCY = 3  # named in each agency's lost points
LATE_NAMED = 3

# Each dimension's rule as the method table prints it: plain Chinese, no code names.
RULES = {
    "quantity": "本单位开放清单中已实际开放（无条件或有条件开放且处于开放状态）的数据集占清单数据集的比例；"
    "非开放类、已中止开放的数据集计入清单但不计为已开放，已撤回（删除清单）的不计入。已载入本单位公共数据"
    "开放年度计划的，该比例与计划完成率（本年度新开放数据集数与计划数之比，超过计划按计划计）各占一半。",
    "quality": "本单位各开放数据集本年度最近一次质量检测中已测得维度的得分率的平均值；未提供数据文件的"
    "数据集，完整性、唯一性、有效性、一致性为“未评估”，不计入分母；更新及时性只在“更新及时性”"
    "维度计算一次。",
    "timeliness": "按数据集声明的更新频率，距最近更新的时间在“周期＋宽限期”内得满分，超出后线性递减，"
    "至两倍时为零；取各数据集平均。静态、不定期及已撤回的数据集不计滞后；"
    "没有声明定期更新的数据集时为“无此事项”。",
    "review_sla": "受理后 5 个工作日内办结的申请占比（含逾期未办结）占 80%，不予受理或驳回时一次性告知理由"
    "占 20%（第十九条，工作日按法定节假日安排计算）；本年度无受理申请时为“无此事项”。",
    "utilisation": "有效调用次数、利用主体数与各单位中的最高值比较（对数尺度，分别占 50%、20%），"
    "有调用的开放数据集占比占 30%；本年度平台无访问日志时为“未评估”，本单位无开放数据集时为“无此事项”。",
    "complaints": "第二十六条要求数据开放主体进行核实，根据核实结果撤回数据、恢复开放或者处理后再开放，"
    f"并及时反馈；细则未规定核实期限，本评估以 {VERIFY_WITHIN_WORKING_DAYS} 个工作日为准。每件投诉："
    f"{VERIFY_WITHIN_WORKING_DAYS} 个工作日内完成核实占 50%，已办结（撤回、恢复或处理后再开放）占 50%，"
    "取平均；本年度无投诉时为“无此事项”。",
    "security": "第二十六条规定数据开放主体收到相关证据材料后，认为必要的，应当立即中止开放；细则未规定"
    f"时限，本评估以收到后 {SUSPEND_WITHIN_HOURS} 小时内中止开放为“立即”的衡量标准。每件权益投诉："
    f"{SUSPEND_WITHIN_HOURS} 小时内中止开放占 50%，未因核实属实而撤回数据（即未开放不应开放的数据）占 50%，"
    "取平均；本年度无投诉时为“无此事项”。"
    "利用主体的违法违规行为（第三十一条）作为情况说明列示，不计入本单位得分。",
}

# The catalog as it was at the end of a day: per dataset, the newest version loaded by then, or
# the first version ever loaded (migration 0800).
CATALOG_AS_OF = """
SELECT dataset_id, agency_id, name, domain, toString(open_class) AS open_class,
       toString(update_frequency) AS update_frequency, published_at, last_updated,
       toString(status) AS status, has_sample
FROM datasets_history
ORDER BY dataset_id,
         toDate(updated_at) <= {as_of:Date} DESC,
         if(toDate(updated_at) <= {as_of:Date}, -toUnixTimestamp64Milli(updated_at),
            toUnixTimestamp64Milli(updated_at)),
         name
LIMIT 1 BY dataset_id
"""

AGENCIES_AS_OF = """
SELECT agency_id, name
FROM agencies_history
ORDER BY agency_id,
         toDate(updated_at) <= {as_of:Date} DESC,
         if(toDate(updated_at) <= {as_of:Date}, -toUnixTimestamp64Milli(updated_at),
            toUnixTimestamp64Milli(updated_at)),
         name
LIMIT 1 BY agency_id
"""

# Each agency's opening plan for the year: the newest version loaded by the end of `as_of`, or, when
# none was loaded by then, the newest loaded since (a plan is often loaded after its year, and a
# correction must count until the year is final, when the evaluation's inputs are frozen).
PLANS_AS_OF = """
SELECT agency_id, planned_datasets
FROM opening_plans
WHERE year = {year:UInt16}
ORDER BY agency_id,
         toDate(updated_at) <= {as_of:Date} DESC,
         updated_at DESC,
         planned_datasets DESC
LIMIT 1 BY agency_id
"""

# The latest quality check of each dataset in the year; `content_measured` when its content
# dimensions come from a profiled file (in this run, or carried forward from an earlier one).
LATEST_CHECKS = """
SELECT dataset_id, total, dimensions, losses, checked_at,
       profiled = 1 OR arrayExists(x -> JSONExtractString(x, 'rule') = 'carried_forward',
                                   JSONExtractArrayRaw(losses)) AS content_measured
FROM quality_checks
WHERE toYear(checked_at) = {year:UInt16} AND toDate(checked_at) <= {as_of:Date}
ORDER BY dataset_id, checked_at DESC, run_id DESC
LIMIT 1 BY dataset_id
"""

# Use of each dataset in the year from the rollups (reports/usage.py), and the registered visitors
# of each dataset; the agency sums are made against the catalog of the year in Python.
USAGE_PER_DATASET = """
SELECT u.dataset_id AS dataset_id,
       sum(u.calls) - sum(u.errors)                              AS calls,
       sumIf(u.calls - u.errors, u.channel = 'download')         AS downloads
FROM (
    -- Plain sums per year, dataset and channel: the engine reads them from the rollup's
    -- projection per_year_dataset_channel (migration 0600).
    SELECT toYear(day) AS year, dataset_id, channel, sum(calls) AS calls, sum(errors) AS errors
    FROM usage_daily_dataset
    WHERE toYear(day) = {year:UInt16}
    GROUP BY year, dataset_id, channel
) AS u
GROUP BY u.dataset_id
"""

VISITORS_PER_DATASET = """
SELECT dataset_id, groupUniqArray(visitor) AS visitors
FROM (
    SELECT toYear(month) AS year, dataset_id, visitor
    FROM visitor_presence
    WHERE NOT anonymous AND toYear(month) = {year:UInt16}
    GROUP BY year, dataset_id, anonymous, visitor
)
GROUP BY dataset_id
"""


# The engine picks a projection by the marks it reads; named, the yearly one is taken.
YEAR_SUMS = {"preferred_optimize_projection_name": "per_year_dataset_channel"}


@dataclass
class DimensionScore:
    key: str
    label: str
    weight: float
    ratio: float | None  # None: not scored (see status)
    status: str = SCORED  # scored | unmeasured | not_applicable
    inputs: dict[str, Any] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    measured_share: float | None = None  # quality: share of its points that were measured

    @property
    def points(self) -> float | None:
        return None if self.ratio is None else round(self.weight * self.ratio, 2)

    @property
    def lost_points(self) -> float | None:
        return None if self.ratio is None else round(self.weight - self.weight * self.ratio, 2)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


@dataclass
class Comparison:
    """The change on the year before, on the dimensions both years scored for the agency."""

    comparable: bool
    reason: str = ""  # why not comparable
    basis: list[str] = field(default_factory=list)
    total: float | None = None  # this year, on the basis
    previous_total: float | None = None

    @property
    def change(self) -> float | None:
        if not self.comparable:
            return None
        return round(self.total - self.previous_total, 2)


@dataclass
class AgencyEvaluation:
    agency_id: str
    name: str
    dimensions: dict[str, DimensionScore]
    total: float
    grade: str
    measured_share: float  # share of the points (weights) that were scored
    rank: int = 0
    context: list[str] = field(default_factory=list)
    comparison: Comparison | None = None

    @property
    def change(self) -> float | None:
        return self.comparison.change if self.comparison else None


@dataclass
class Evaluation:
    year: int
    as_of: date
    weights: dict[str, float]
    agencies: list[AgencyEvaluation]
    notes: list[str]
    key_figures: dict[str, Any]
    worst_datasets: list[dict]
    violations: list[dict]  # the year's 第三十一条 records (context), persons masked
    state: str = "draft"  # draft | published | final
    review_until: date | None = None
    content_hash: str = ""
    recorded_at: str = ""

    def recorded_day(self) -> date | None:
        """The Shanghai day this version was stored (published or finalized); None for a draft."""
        return date.fromisoformat(self.recorded_at[:10]) if self.recorded_at else None

    def agency(self, agency_id: str) -> AgencyEvaluation:
        return next(a for a in self.agencies if a.agency_id == agency_id)

    def city_mean(self) -> dict[str, float | None]:
        """Per dimension, the mean ratio over the agencies that were scored on it."""
        means = {}
        for key in self.weights:
            ratios = [a.dimensions[key].ratio for a in self.agencies if a.dimensions[key].ratio is not None]
            means[key] = sum(ratios) / len(ratios) if ratios else None
        return means

    def mean_total(self) -> float | None:
        return round(sum(a.total for a in self.agencies) / len(self.agencies), 2) if self.agencies else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: what a published or final year stores and is read back from."""
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["review_until"] = self.review_until.isoformat() if self.review_until else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        agencies = []
        for a in data["agencies"]:
            dimensions = {k: DimensionScore(**d) for k, d in a["dimensions"].items()}
            comparison = Comparison(**a["comparison"]) if a.get("comparison") else None
            agencies.append(AgencyEvaluation(**{**a, "dimensions": dimensions, "comparison": comparison}))
        return cls(
            **{
                **data,
                "agencies": agencies,
                "as_of": date.fromisoformat(data["as_of"]),
                "review_until": date.fromisoformat(data["review_until"])
                if data.get("review_until")
                else None,
            }
        )

    def ranking_rows(self) -> list[dict]:
        """One plain row per agency: total, grade, the share evaluated, each dimension, the change."""
        return [
            {
                "rank": a.rank,
                "agency_id": a.agency_id,
                "agency": a.name,
                "total": a.total,
                "grade": a.grade,
                "measured_share": a.measured_share,
                **{k: a.dimensions[k].points for k in self.weights},
                "change": a.change,
            }
            for a in self.agencies
        ]

    def dimension_rows(self) -> list[dict]:
        """Every score with its inputs and causes: the traceability table."""
        return [
            {
                "agency_id": a.agency_id,
                "agency": a.name,
                "dimension": d.key,
                "weight": d.weight,
                "points": d.points,
                "ratio": None if d.ratio is None else round(d.ratio, 4),
                "status": d.status,
                "inputs": d.inputs,
                "lost": d.lost,
            }
            for a in self.agencies
            for d in a.dimensions.values()
        ]


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


def as_of_day(year: int, today: date) -> date:
    """The day a year is evaluated as of: its last day, or today for the current year."""
    return min(date(year, 12, 31), today)


# ---------------------------------------------------------------- reading one year's inputs


def _rows(result) -> list[dict]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _query(client: Client, sql: str, settings: dict | None = None, **params: Any) -> list[dict]:
    return _rows(client.query(sql, parameters=params, settings=settings))


def _span(year: int) -> ReportFilters:
    return ReportFilters(date_from=date(year, 1, 1), date_to=date(year, 12, 31))


def _day_text(value: Any) -> str:
    if isinstance(value, datetime):
        return clock.shanghai(value).strftime("%Y-%m-%d")
    return value.isoformat() if isinstance(value, date) else str(value or "")


def read_year(client: Client, year: int, as_of: date) -> dict[str, Any]:
    """Everything the evaluation of `year` reads, as plain rows, on the catalog as of `as_of`."""
    catalog = _query(client, CATALOG_AS_OF, as_of=as_of)
    agencies = {row["agency_id"]: row["name"] for row in _query(client, AGENCIES_AS_OF, as_of=as_of)}
    checks = _query(client, LATEST_CHECKS, year=year, as_of=as_of)
    usage = {row["dataset_id"]: row for row in _query(client, USAGE_PER_DATASET, YEAR_SUMS, year=year)}
    visitors = {
        row["dataset_id"]: set(row["visitors"]) for row in _query(client, VISITORS_PER_DATASET, year=year)
    }
    logged = log_days(client, year)
    reviews = application_reviews(client, _span(year), as_of=as_of)
    period = pl.coalesce("accepted_day", "decided_day", "submitted_day").dt.year()
    sla = {row["agency_id"]: row for row in summarize_reviews(reviews.filter(period == year)).to_dicts()}
    complaints = complaint_timings(client, _span(year), as_of=as_of).to_dicts()
    violations = list_violations(client, year=year)
    plans = {row["agency_id"]: row["planned_datasets"] for row in _query(client, PLANS_AS_OF, year=year,
                                                                          as_of=as_of)}
    return {
        "catalog": catalog,
        "agencies": agencies,
        "checks": checks,
        "usage": usage,
        "visitors": visitors,
        "traffic": logged is not None,
        "log_days": tuple(day.isoformat() for day in logged) if logged else None,
        "sla": sla,
        "complaints": complaints,
        "violations": violations,
        "plans": plans,
    }


# ---------------------------------------------------------------- one dataset


def counted(ds: dict, as_of: date) -> bool:
    """An open dataset the catalog counts at `as_of`: open class, not withdrawn, published."""
    return ds["open_class"] in OPEN_CLASSES and ds["status"] != "withdrawn" and ds["published_at"] <= as_of


def listed(ds: dict, as_of: date) -> bool:
    """On the agency's open list at `as_of` (a withdrawn dataset is taken off it, 第十条(二))."""
    return ds["status"] != "withdrawn" and ds["published_at"] <= as_of


def dataset_quality(check: dict, weights: dict[str, float]) -> dict[str, Any]:
    """A dataset's quality on its measured dimensions only, timeliness left to its own dimension."""
    measured = [
        d
        for d in weights
        if d != "timeliness" and weights[d] > 0 and (d not in CONTENT_DIMENSIONS or check["content_measured"])
    ]
    possible = sum(weights[d] for d in weights if d != "timeliness")
    earned = sum(min(float(check["dimensions"].get(d, 0.0)), weights[d]) for d in measured)
    out_of = sum(weights[d] for d in measured)
    return {
        "ratio": earned / out_of if out_of else None,
        "measured_share": out_of / possible if possible else 0.0,
        "measured": measured,
    }


def dataset_timeliness(ds: dict, as_of: date) -> float | None:
    """The one timeliness rule (reports.quality.score_timeliness) as a share; None when never late."""
    if ds["update_frequency"] in NEVER_LATE or ds["status"] == "withdrawn":
        return None
    at = datetime.combine(as_of, time(23, 59, 59), clock.SHANGHAI)
    updated = ds["last_updated"]
    points, _ = score_timeliness(1.0, ds["update_frequency"], updated, at)
    return points


def _late_text(ds: dict, year: int) -> str:
    frequency = FREQUENCY_LABELS.get(ds["update_frequency"], "未声明")
    updated = ds["last_updated"]
    if updated is None or updated.date() < date(1971, 1, 1):
        return f"{ds['name']}：目录未登记最近更新时间（声明{frequency}更新）"
    updated_day = clock.shanghai(updated).date()
    if updated_day.year < year:
        return f"{ds['name']}：本年度未更新，最近一次更新为{chinese_date(updated_day)}（声明{frequency}更新）"
    return f"{ds['name']}：最近一次更新为{chinese_date(updated_day)}，超出{frequency}更新周期"


FORMAT_LABELS = {
    "pdf": "PDF 版式文档",
    "doc": "DOC 版式文档",
    "docx": "DOCX 版式文档",
    "xlsx": "电子表格",
    "xls": "电子表格",
    "ods": "电子表格",
    "wps": "专有格式",
    "other": "专有或未知格式",
}
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+")


def plain_cause(loss: dict) -> str:
    """A quality loss's cause as a report may print it: formats by name, no code identifiers."""
    rule = str(loss.get("rule") or "")
    if rule.startswith("format_"):
        return f"数据格式为{FORMAT_LABELS.get(rule.removeprefix('format_'), '专有或未知格式')}，不便机器读取"
    return _IDENTIFIER.sub("某字段", str(loss.get("cause") or ""))


# ---------------------------------------------------------------- the dimensions


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _log_share(value: float, best: float) -> float:
    return math.log1p(value) / math.log1p(best) if best > 0 else 0.0


def _not_scored(key: str, status: str, reason: str, inputs: dict | None = None) -> DimensionScore:
    return DimensionScore(key, LABELS[key], 0, None, status, inputs or {}, [reason])


def _quantity(datasets: list[dict], as_of: date, planned: int | None = None) -> DimensionScore:
    on_list = [ds for ds in datasets if listed(ds, as_of)]
    open_now = [ds for ds in on_list if ds["open_class"] in OPEN_CLASSES and ds["status"] == "open"]
    closed = sum(1 for ds in on_list if ds["open_class"] not in OPEN_CLASSES)
    suspended = sum(1 for ds in on_list if ds["open_class"] in OPEN_CLASSES and ds["status"] == "suspended")
    opened_this_year = sum(1 for ds in open_now if ds["published_at"].year == as_of.year)
    inputs = {
        "listed": len(on_list),
        "open": len(open_now),
        "closed": closed,
        "suspended": suspended,
        "unconditional": sum(1 for ds in open_now if ds["open_class"] == "unconditional"),
        "conditional": sum(1 for ds in open_now if ds["open_class"] == "conditional"),
        "domains": len({ds["domain"] for ds in open_now}),
        "new": sum(1 for ds in on_list if ds["published_at"].year == as_of.year),
    }
    if planned:
        inputs |= {"planned": planned, "opened_this_year": opened_this_year}
    if not on_list:
        return _not_scored("quantity", NOT_APPLICABLE, "开放清单中没有数据集", inputs)
    lost = []
    if closed:
        lost.append(f"清单中 {closed} 个数据集为非开放类")
    if suspended:
        lost.append(f"{suspended} 个数据集处于中止开放状态")
    share = len(open_now) / len(on_list)
    if planned:
        # The agency's own plan, where one is loaded: half the dimension is how far it got.
        share = (share + min(1.0, opened_this_year / planned)) / 2
        if opened_this_year < planned:
            lost.append(f"年度开放计划 {planned} 个数据集，本年度实际新开放 {opened_this_year} 个")
    return DimensionScore("quantity", LABELS["quantity"], 0, share, SCORED, inputs, lost)


def _quality(open_sets: list[dict], checks: dict[str, dict], weights: dict[str, float]) -> DimensionScore:
    scored = []
    for ds in open_sets:
        check = checks.get(ds["dataset_id"])
        if check is not None:
            scored.append((ds, check, dataset_quality(check, weights)))
    scored = [item for item in scored if item[2]["ratio"] is not None]
    unprofiled = sum(1 for _, check, _ in scored if not check["content_measured"])
    inputs = {"open": len(open_sets), "checked": len(scored), "profiled": len(scored) - unprofiled}
    if not scored:
        return _not_scored("quality", UNMEASURED, "本年度开放数据集均无质量检测记录", inputs)
    ratio = sum(q["ratio"] for _, _, q in scored) / len(scored)
    share = sum(q["measured_share"] for _, _, q in scored) / len(scored)
    inputs |= {"mean": round(100 * ratio, 2), "measured_share": round(share, 4)}
    lost = []
    means = {}
    for d in weights:
        values = [
            min(float(c["dimensions"].get(d, 0.0)), weights[d]) / weights[d]
            for _, c, q in scored
            if d in q["measured"]
        ]
        if values:
            means[d] = sum(values) / len(values)
    for d, mean in sorted(means.items(), key=lambda item: item[1])[:2]:
        if mean < 0.995:
            lost.append(f"“{QUALITY_LABELS[d]}”平均得分率 {100 * mean:.1f}%")
    for ds, _, q in sorted(scored, key=lambda item: (item[2]["ratio"], item[0]["dataset_id"]))[
        :WORST_PER_AGENCY
    ]:
        if q["ratio"] < 0.995:
            lost.append(f"{ds['name']} 质量得分率 {100 * q['ratio']:.1f}%")
    if len(scored) < len(open_sets):
        lost.append(f"{len(open_sets) - len(scored)} 个开放数据集本年度未做质量检测（不计入平均）")
    if unprofiled:
        lost.append(f"{unprofiled} 个数据集未提供数据文件，内容维度未评估（不计入分母）")
    return DimensionScore("quality", LABELS["quality"], 0, ratio, SCORED, inputs, lost, round(share, 4))


def _timeliness(open_sets: list[dict], as_of: date) -> DimensionScore:
    shares = [(ds, dataset_timeliness(ds, as_of)) for ds in open_sets]
    scheduled = [(ds, s) for ds, s in shares if s is not None]
    inputs = {
        "scheduled": len(scheduled),
        "never_late": len(shares) - len(scheduled),
        "on_time": sum(1 for _, s in scheduled if s >= 1),
        "late": sum(1 for _, s in scheduled if s < 1),
    }
    if not scheduled:
        return _not_scored("timeliness", NOT_APPLICABLE, "没有声明定期更新的开放数据集", inputs)
    late = sorted(
        ((ds, s) for ds, s in scheduled if s < 1), key=lambda pair: (pair[1], pair[0]["dataset_id"])
    )
    lost = [_late_text(ds, as_of.year) for ds, _ in late[:LATE_NAMED]]
    if len(late) > LATE_NAMED:
        lost.append(f"另有 {len(late) - LATE_NAMED} 个数据集未按声明频率更新")
    ratio = sum(s for _, s in scheduled) / len(scheduled)
    return DimensionScore("timeliness", LABELS["timeliness"], 0, ratio, SCORED, inputs, lost)


def _review_sla(sla: dict | None) -> DimensionScore:
    keys = (
        "applications",
        "reviewed",
        "within_sla",
        "overdue",
        "pending_overdue",
        "rejections",
        "missing_reason",
    )
    if sla is None or (sla["reviewed"] + sla["pending_overdue"] == 0 and sla["rejections"] == 0):
        return _not_scored(
            "review_sla",
            NOT_APPLICABLE,
            "本年度无受理的开放申请",
            {k: int(sla[k]) if sla else 0 for k in keys},
        )
    due = sla["reviewed"] + sla["pending_overdue"]
    within = _share(sla["within_sla"], due) if due else 1.0
    reasoned = 1 - _share(sla["missing_reason"], sla["rejections"]) if sla["rejections"] else 1.0
    lost = []
    if sla["overdue"]:
        lost.append(f"{sla['overdue']} 件申请审核超过 5 个工作日")
    if sla["pending_overdue"]:
        lost.append(f"{sla['pending_overdue']} 件申请逾期未办结")
    if sla["missing_reason"]:
        lost.append(f"{sla['missing_reason']} 件不予受理或驳回未一次性告知理由")
    if sla["estimated"]:
        lost.append("部分工作日按周一至周五估算（法定节假日安排尚未发布）")
    inputs = {k: int(sla[k]) for k in keys}
    return DimensionScore(
        "review_sla", LABELS["review_sla"], 0, 0.8 * within + 0.2 * reasoned, SCORED, inputs, lost
    )


def _utilisation(usage: dict, open_count: int, best: dict, traffic: bool) -> DimensionScore:
    if not traffic:
        return _not_scored("utilisation", UNMEASURED, "本年度平台无访问日志", dict(usage))
    if not open_count:     # nothing open to be used: not a failure of use
        return _not_scored("utilisation", NOT_APPLICABLE, "本单位无开放数据集", {**usage, "open": 0})
    calls = _log_share(usage["calls"], best["calls"])
    consumers = _log_share(usage["consumers"], best["consumers"])
    used = min(_share(usage["used"], open_count), 1.0)
    lost = []
    if open_count and used < 1:
        lost.append(f"{max(open_count - usage['used'], 0)} 个开放数据集全年无有效调用")
    if calls < 1:
        lost.append(f"有效调用 {usage['calls']:,} 次，各单位最高为 {best['calls']:,} 次")
    inputs = {**usage, "open": open_count, "best_calls": best["calls"], "best_consumers": best["consumers"]}
    return DimensionScore(
        "utilisation",
        LABELS["utilisation"],
        0,
        0.5 * calls + 0.3 * used + 0.2 * consumers,
        SCORED,
        inputs,
        lost,
    )


def _complaints(complaints: list[dict]) -> DimensionScore:
    n = len(complaints)
    verified = sum(1 for c in complaints if c["verified_in_time"])
    closed = sum(1 for c in complaints if c["closed"])
    inputs = {"complaints": n, "verified_in_time": verified, "closed": closed}
    if not n:
        return _not_scored("complaints", NOT_APPLICABLE, "本年度无投诉", inputs)
    lost = []
    if verified < n:
        lost.append(f"{n - verified} 件投诉未在 {VERIFY_WITHIN_WORKING_DAYS} 个工作日内核实")
    if closed < n:
        lost.append(f"{n - closed} 件投诉尚未办结")
    return DimensionScore(
        "complaints", LABELS["complaints"], 0, (0.5 * verified + 0.5 * closed) / n, SCORED, inputs, lost
    )


def _security(complaints: list[dict]) -> DimensionScore:
    n = len(complaints)
    suspended = sum(1 for c in complaints if c["suspended_in_time"])
    withdrawn = sum(1 for c in complaints if c["outcome"] == "withdrawn")
    inputs = {"complaints": n, "suspended_in_time": suspended, "withdrawn": withdrawn}
    if not n:
        return _not_scored("security", NOT_APPLICABLE, "本年度无涉及权益的投诉", inputs)
    lost = []
    if suspended < n:
        lost.append(f"{n - suspended} 件投诉未在 {SUSPEND_WITHIN_HOURS} 小时内中止开放")
    if withdrawn:
        lost.append(f"{withdrawn} 个数据集经核实不应开放而撤回")
    return DimensionScore(
        "security", LABELS["security"], 0, (0.5 * suspended + 0.5 * (n - withdrawn)) / n, SCORED, inputs, lost
    )


def _context(violations: list[dict]) -> list[str]:
    """Consumers' violations on the agency's data: shown, not scored."""
    if not violations:
        return []
    counts = {s: sum(1 for v in violations if v["severity"] == s) for s in MAJOR_SEVERITIES}
    major = "、".join(f"{SEVERITY_LABELS[s]} {n} 起" for s, n in counts.items() if n)
    text = f"本年度利用主体在本单位数据上的违法违规记录 {len(violations)} 起"
    if major:  # in 附件2's words for each severity
        text += f"（其中严重程度为{major}）"
    return [text + "，系利用主体行为，作为情况说明，不计入本单位得分"]


# ---------------------------------------------------------------- one year


def _agency_usage(datasets: list[dict], inputs: dict) -> dict[str, int]:
    ids = [ds["dataset_id"] for ds in datasets]
    usage = [inputs["usage"][i] for i in ids if i in inputs["usage"]]
    visitors = set().union(*(inputs["visitors"].get(i, set()) for i in ids)) if ids else set()
    return {
        "calls": int(sum(u["calls"] for u in usage)),
        "downloads": int(sum(u["downloads"] for u in usage)),
        "consumers": len(visitors),
        "used": sum(1 for u in usage if u["calls"] > 0),
    }


def _total(dimensions: dict[str, DimensionScore]) -> tuple[float, float]:
    """(total out of 100 over the scored dimensions, share of the weights that were scored).

    The total is made from the points as printed (each rounded to 2 decimals), so a reader adding up
    an agency's row gets its total."""
    scored = [d for d in dimensions.values() if d.ratio is not None and d.weight > 0]
    possible = sum(d.weight for d in dimensions.values())
    out_of = sum(d.weight for d in scored)
    if not out_of:
        return 0.0, 0.0
    return round(100 * sum(d.points for d in scored) / out_of, 2), round(out_of / possible, 4)


def _rank(agencies: list[AgencyEvaluation]) -> None:
    """Competition ranking: equal totals share a rank (1, 2, 2, 4)."""
    agencies.sort(key=lambda a: (-a.total, a.agency_id))
    for position, agency in enumerate(agencies, start=1):
        tied = position > 1 and agencies[position - 2].total == agency.total
        agency.rank = agencies[position - 2].rank if tied else position


def _by_agency(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["agency_id"], []).append(row)
    return grouped


def _masked_violation(v: dict) -> dict:
    person = v["consumer_kind"] in ("person", "")
    name = v["consumer_name"] or ""
    return {
        "recorded_on": _day_text(v["recorded_at"]),
        "agency_id": v["agency_id"],
        "agency": v["agency_name"] or "",
        "dataset": v["dataset_name"] or "",
        "consumer": mask_person_name(name) if person and name else name,
        "article": v["article"],
        "category": v["category_label"],
        "severity": v["severity"],
        "measures": [m["action_label"] for m in v["measures"]],
        "publicized": bool(v["publicized"]),
        "major": bool(v["major"]),
    }


def _worst(
    open_sets: list[dict], checks: dict[str, dict], weights: dict[str, float], agencies: dict[str, str]
) -> list[dict]:
    scored = []
    for ds in open_sets:
        check = checks.get(ds["dataset_id"])
        quality = dataset_quality(check, weights) if check else None
        if quality and quality["ratio"] is not None:
            scored.append((quality["ratio"], ds["dataset_id"], ds, check, quality))
    worst = []
    for ratio, _, ds, check, quality in sorted(scored, key=lambda item: item[:2])[:WORST_DATASETS]:
        try:
            losses = json.loads(check["losses"] or "[]")
        except ValueError:
            losses = []
        issues = [
            {
                "dimension": x.get("dimension", ""),
                "points": round(float(x.get("points") or 0), 2),
                "cause": plain_cause(x),
            }
            for x in losses
            if isinstance(x, dict)
            and float(x.get("points") or 0) > 0
            and x.get("dimension") in quality["measured"]
        ]
        issues.sort(key=lambda x: -x["points"])
        worst.append(
            {
                "dataset": ds["name"],
                "agency": agencies.get(ds["agency_id"], ""),
                "score": round(100 * ratio, 2),
                "measured_share": round(quality["measured_share"], 4),
                "issues": issues[:5],
            }
        )
    return worst


def compute_year(
    year: int, as_of: date, inputs: dict[str, Any], weights: dict[str, float], q_weights: dict[str, float]
) -> Evaluation:
    """Score every agency with a listed dataset at `as_of` from one year's inputs (pure)."""
    catalog = [ds for ds in inputs["catalog"] if listed(ds, as_of)]
    by_agency = _by_agency(catalog)
    complaints = _by_agency(inputs["complaints"])
    violations = _by_agency(inputs["violations"])
    checks = {c["dataset_id"]: c for c in inputs["checks"]}
    open_by_agency = {a: [ds for ds in rows if counted(ds, as_of)] for a, rows in by_agency.items()}
    usage = {a: _agency_usage(rows, inputs) for a, rows in open_by_agency.items()}
    best = {k: max((u[k] for u in usage.values()), default=0) for k in ("calls", "consumers")}
    agencies = []
    for agency_id, rows in sorted(by_agency.items()):
        open_sets = open_by_agency[agency_id]
        dimensions = {
            "quantity": _quantity(rows, as_of, inputs.get("plans", {}).get(agency_id)),
            "quality": _quality(open_sets, checks, q_weights),
            "timeliness": _timeliness(open_sets, as_of),
            "review_sla": _review_sla(inputs["sla"].get(agency_id)),
            "utilisation": _utilisation(usage[agency_id], len(open_sets), best, inputs["traffic"]),
            "complaints": _complaints(complaints.get(agency_id, [])),
            "security": _security(complaints.get(agency_id, [])),
        }
        for key, dimension in dimensions.items():
            dimension.weight = weights[key]
        total, share = _total(dimensions)
        name = inputs["agencies"].get(agency_id) or agency_id
        agencies.append(
            AgencyEvaluation(
                agency_id,
                name,
                dimensions,
                total,
                grade_for(total),
                share,
                context=_context(violations.get(agency_id, [])),
            )
        )
    _rank(agencies)
    notes = []
    if not inputs["traffic"]:
        notes.append("本年度平台无访问日志，“数据利用”为未评估，不计入各单位总分")
    if not inputs["checks"]:
        notes.append("本年度无数据质量检测记录，“数据质量”为未评估，不计入各单位总分")
    if any(s["estimated"] for s in inputs["sla"].values()):
        notes.append("部分审核时效按周一至周五估算：法定节假日安排尚未发布")
    # An agency that lists nothing must not pass unseen: having no list is not a better result.
    unlisted = [a for a in sorted(inputs["agencies"]) if a not in by_agency]
    if unlisted:
        names = "、".join(inputs["agencies"].get(a) or a for a in unlisted)
        notes.append(f"{len(unlisted)} 个数据开放主体本年度开放清单中没有数据集，未参加评估：{names}")
    all_open = [ds for rows in open_by_agency.values() for ds in rows]
    evaluation = Evaluation(
        year,
        as_of,
        weights,
        agencies,
        notes,
        {},
        _worst(all_open, checks, q_weights, inputs["agencies"]),
        [_masked_violation(v) for v in inputs["violations"]],
    )
    evaluation.key_figures = _key_figures(evaluation, inputs, all_open)
    return evaluation


def _key_figures(evaluation: Evaluation, inputs: dict[str, Any], all_open: list[dict]) -> dict[str, Any]:
    sla = inputs["sla"].values()
    due = sum(s["reviewed"] + s["pending_overdue"] for s in sla)
    within = sum(s["within_sla"] for s in sla)
    agencies = evaluation.agencies
    checked = sum(a.dimensions["quality"].inputs.get("checked", 0) for a in agencies)
    profiled = sum(a.dimensions["quality"].inputs.get("profiled", 0) for a in agencies)
    return {
        "agencies": len(agencies),
        "open_datasets": len(all_open),
        "new_datasets": sum(1 for ds in all_open if ds["published_at"].year == evaluation.year),
        "checked_datasets": checked,
        "profiled_datasets": profiled,
        "calls": sum(int(u["calls"]) for u in inputs["usage"].values()),
        "log_days": inputs.get("log_days"),     # the calls are counted over these days only
        "downloads": sum(int(u["downloads"]) for u in inputs["usage"].values()),
        "applications_due": int(due),
        "share_within_5_working_days": round(within / due, 4) if due else None,
        "complaints": len(inputs["complaints"]),
        "violations": len(inputs["violations"]),
        "mean_total": evaluation.mean_total(),
        "mean_measured_share": round(sum(a.measured_share for a in agencies) / len(agencies), 4)
        if agencies
        else None,
        "grades": {label: sum(1 for a in agencies if a.grade == label) for _, label in GRADES},
    }


# ---------------------------------------------------------------- year over year


def compare(
    current: AgencyEvaluation,
    previous: AgencyEvaluation | None,
    previous_year: int,
    weights: dict[str, float],
) -> Comparison:
    """The change on the dimensions both years scored, with this year's weights; else why not."""
    if previous is None:
        return Comparison(False, f"{previous_year}年度未参评")
    basis = [
        k
        for k in weights
        if weights[k] > 0
        and current.dimensions[k].ratio is not None
        and k in previous.dimensions
        and previous.dimensions[k].ratio is not None
    ]
    if not basis:
        return Comparison(False, "两个年度没有共同评估的维度")
    out_of = sum(weights[k] for k in basis)
    now = 100 * sum(weights[k] * current.dimensions[k].ratio for k in basis) / out_of
    before = 100 * sum(weights[k] * previous.dimensions[k].ratio for k in basis) / out_of
    return Comparison(True, "", basis, round(now, 2), round(before, 2))


def attach_comparison(evaluation: Evaluation, previous: Evaluation | None) -> None:
    previous_agencies = {a.agency_id: a for a in previous.agencies} if previous else {}
    for agency in evaluation.agencies:
        if previous is None or not previous.agencies:
            agency.comparison = Comparison(False, f"{evaluation.year - 1}年度无评估结果")
        else:
            agency.comparison = compare(
                agency, previous_agencies.get(agency.agency_id), evaluation.year - 1, evaluation.weights
            )


# ---------------------------------------------------------------- a year computed


@cached
def draft_year(
    client: Client,
    year: int,
    today: date,
    weights: tuple[tuple[str, float], ...],
    q_weights: tuple[tuple[str, float], ...],
) -> Evaluation:
    """A year computed from the warehouse as it is (without the comparison); kept while the
    warehouse is unchanged (warehouse.cache)."""
    as_of = as_of_day(year, today)
    return compute_year(year, as_of, read_year(client, year, as_of), dict(weights), dict(q_weights))


def review_deadline(start: date, working_days: int) -> date:
    """The last day of a review window of `working_days` working days after `start`."""
    from odwatch.calendar import add_working_days

    return add_working_days(start, working_days)[0] if working_days else start


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.0f}%"


def inputs_text(d: DimensionScore) -> str:
    """What a dimension was scored on, in Chinese with units (the 依据 column of the report)."""
    i = d.inputs
    texts = {
        "quantity": lambda: (
            f"清单数据集 {i.get('listed', 0)} 个，已开放 {i.get('open', 0)} 个（无条件 "
            f"{i.get('unconditional', 0)} 个、有条件 {i.get('conditional', 0)} 个），非开放类 "
            f"{i.get('closed', 0)} 个，中止开放 {i.get('suspended', 0)} 个，覆盖领域 "
            f"{i.get('domains', 0)} 个"
            + (f"；年度开放计划 {i['planned']} 个，本年度新开放 {i['opened_this_year']} 个"
               if i.get("planned") else "")
        ),
        "quality": lambda: (
            f"开放数据集 {i.get('open', 0)} 个，已检测 {i.get('checked', 0)} 个，其中剖析数据"
            "文件 "
            f"{i.get('profiled', 0)} 个；已测维度平均得分率 {i['mean']:.1f}%，测得分值占 "
            f"{_percent(i.get('measured_share'))}"
            if "mean" in i
            else f"开放数据集 {i.get('open', 0)} 个，已检测 0 个"
        ),
        "timeliness": lambda: (
            f"定期更新数据集 {i.get('scheduled', 0)} 个（按时 {i.get('on_time', 0)} 个、滞"
            "后 "
            f"{i.get('late', 0)} 个），静态或不定期 {i.get('never_late', 0)} 个不计滞后"
        ),
        "review_sla": lambda: (
            f"受理申请 {i.get('applications', 0)} 件，办结 {i.get('reviewed', 0)} 件，5 个"
            "工作日内 "
            f"{i.get('within_sla', 0)} 件，逾期未办结 {i.get('pending_overdue', 0)} 件，不"
            "予受理或驳回 "
            f"{i.get('rejections', 0)} 件（未告知理由 {i.get('missing_reason', 0)} 件）"
        ),
        "utilisation": lambda: (
            f"有效调用 {i.get('calls', 0):,} 次（下载 {i.get('downloads', 0):,} 次），利用"
            "主体 "
            f"{i.get('consumers', 0)} 个，有调用的开放数据集 {i.get('used', 0)} 个"
        ),
        "complaints": lambda: (
            f"投诉 {i.get('complaints', 0)} 件，按时核实 {i.get('verified_in_time', 0)} 件"
            "，已办结 "
            f"{i.get('closed', 0)} 件"
        ),
        "security": lambda: (
            f"权益投诉 {i.get('complaints', 0)} 件，{SUSPEND_WITHIN_HOURS} 小时内中止开放 "
            f"{i.get('suspended_in_time', 0)} "
            f"件，经核实撤回 {i.get('withdrawn', 0)} 件"
        ),
    }
    return texts[d.key]()
