"""The monthly platform-operation report (第三十七条第二款: 开放平台运行报告) as PDF, DOCX and XLSX.

The big data center's report to the department on how the open platform ran in one month:
availability, latency percentiles, error rates by channel, the most used datasets, new data
consumers, alerts and violations, measures in force at the month's end, each beside the month
before. Built on the annual report's 公文 machinery (document model, PDF and DOCX writers, typed
workbook); no code names or English enum words are printed.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.errors import UserError
from odwatch.i18n import chinese_date
from odwatch.settings import Settings
from odwatch.vocabulary import SEVERITIES, SEVERITY_LABELS
from reports.export import document as doc
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.export.workbook import Column, Sheet, write_workbook

OPERATION_FORMATS = ("pdf", "docx", "xlsx")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR = 2000  # as the annual evaluation: no platform month before it
TOP_DATASETS = 10
AVAILABILITY_TARGET = 0.999
CHANNEL_LABELS = {"api": "接口调用", "download": "文件下载"}
KIND_LABELS = {"person": "自然人", "company": "企业", "organisation": "其他组织", "": "未登记类型"}
SOURCE_LABELS = {"alert": "监测告警确认", "report": "举报", "complaint": "投诉", "inspection": "检查"}

TRAFFIC = """
SELECT sum(calls) AS calls, sum(errors) AS errors, sum(server_errors) AS server_errors,
       quantilesTDigestMerge(0.5, 0.95, 0.99)(latency) AS latency
FROM operation_daily
WHERE day BETWEEN {first:Date} AND {last:Date}
"""

TRAFFIC_BY_CHANNEL = """
SELECT toString(channel) AS channel, sum(calls) AS calls, sum(errors) AS errors,
       sum(server_errors) AS server_errors, quantilesTDigestMerge(0.5, 0.95, 0.99)(latency) AS latency
FROM operation_daily
WHERE day BETWEEN {first:Date} AND {last:Date}
GROUP BY channel
ORDER BY channel
"""

DAILY_AVAILABILITY = """
SELECT day, 1 - sum(server_errors) / sum(calls) AS availability
FROM operation_daily
WHERE day BETWEEN {first:Date} AND {last:Date}
GROUP BY day
HAVING sum(calls) > 0
ORDER BY availability, day
"""

TOP = """
SELECT u.dataset_id AS dataset_id, d.name AS dataset, ag.name AS agency, sum(u.calls) AS calls,
       sumIf(u.calls, u.channel = 'download') AS downloads
FROM usage_daily_dataset AS u
LEFT JOIN (SELECT dataset_id, name, agency_id FROM datasets FINAL) AS d ON d.dataset_id = u.dataset_id
LEFT JOIN (SELECT agency_id, name FROM agencies FINAL) AS ag ON ag.agency_id = d.agency_id
WHERE u.day BETWEEN {first:Date} AND {last:Date}
GROUP BY dataset_id, dataset, agency
ORDER BY calls DESC, dataset_id
LIMIT {limit:UInt32}
"""

NEW_CONSUMERS = """
SELECT toString(kind) AS kind, count() AS consumers
FROM consumers FINAL
WHERE toDate(registered_at, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
GROUP BY kind
ORDER BY kind
"""

ALERTS = """
SELECT toString(severity) AS severity, count() AS alerts, uniqExact(group_key) AS groups
FROM alerts FINAL
WHERE toDate(window_start, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
GROUP BY severity
"""

VERDICTS = """
SELECT countIf(action = 'confirm') AS confirmed, countIf(action = 'dismiss') AS dismissed,
       countIf(action = 'escalate') AS escalated
FROM alert_events
WHERE toDate(at, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
"""

VIOLATIONS = """
SELECT toString(source) AS source, category, count() AS violations
FROM violations FINAL
WHERE toDate(recorded_at, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
GROUP BY source, category
ORDER BY source, category
"""

# Measures in force at the end of a month: started by then and not yet ended (read from the
# measures themselves, so a past month reads as it was, whatever the keys' state today).
IN_FORCE = """
SELECT countIf(action = 'restrict') AS restricted, countIf(action = 'close') AS closed
FROM measures FINAL
WHERE starts_at < toDateTime({end:Int64}, 'Asia/Shanghai')
  AND (ends_at IS NULL OR ends_at >= toDateTime({end:Int64}, 'Asia/Shanghai'))
"""

NEW_MEASURES = """
SELECT countIf(action = 'restrict') AS restrict, countIf(action = 'close') AS close
FROM measures FINAL
WHERE toDate(starts_at, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
"""


def parse_month(text: str) -> tuple[date, date]:
    """'2026-11' → (first day, last day); a UserError for anything else."""
    match = MONTH.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise UserError(f"The month must look like 2026-11, not '{text}'.")
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1), date(year, month, month_calendar.monthrange(year, month)[1])


def report_month(text: str, today: date) -> tuple[date, date]:
    """The month's first day and the last day its report covers: the month's last day, or today for
    the current month (its report says so); a UserError for a month to come or one before 2000."""
    first, last = parse_month(text)
    if first > today:
        raise UserError(f"{first:%Y-%m} has not begun yet: choose {today:%Y-%m} or an earlier month.")
    if first.year < FIRST_YEAR:
        raise UserError(f"Choose a month from {FIRST_YEAR}-01 to {today:%Y-%m}, not {first:%Y-%m}.")
    return first, min(last, today)


def month_before(first: date) -> tuple[date, date]:
    last = first - timedelta(days=1)
    return last.replace(day=1), last


def month_label(first: date) -> str:
    return f"{first.year}年{first.month}月"


@dataclass
class MonthFigures:
    first: date
    last: date
    calls: int = 0
    errors: int = 0
    server_errors: int = 0
    latency: list[float | None] = field(default_factory=lambda: [None, None, None])  # p50, p95, p99 ms
    channels: list[dict[str, Any]] = field(default_factory=list)
    worst_days: list[dict[str, Any]] = field(default_factory=list)
    days_below_target: int = 0
    top_datasets: list[dict[str, Any]] = field(default_factory=list)
    new_consumers: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)               # by severity
    alert_groups: int = 0
    confirmed: int = 0
    dismissed: int = 0
    escalated: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)     # source, category, violations
    new_measures: dict[str, int] = field(default_factory=dict)
    in_force: dict[str, int] = field(default_factory=dict)             # measures at the month's end

    @property
    def whole_month(self) -> bool:
        """False for the current month, read up to today."""
        return self.last.day == month_calendar.monthrange(self.last.year, self.last.month)[1]

    @property
    def period(self) -> str:
        """The month as the report names it: 2026年12月, or 2026年12月（截至2026年12月5日） while it runs."""
        label = month_label(self.first)
        return label if self.whole_month else f"{label}（截至{chinese_date(self.last)}）"

    @property
    def availability(self) -> float | None:
        return None if not self.calls else 1 - self.server_errors / self.calls

    @property
    def error_rate(self) -> float | None:
        return None if not self.calls else self.errors / self.calls

    @property
    def violation_count(self) -> int:
        return sum(v["violations"] for v in self.violations)


def _rows(client: Client, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(sql, parameters=params)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _latency(values: list[float] | None, calls: int) -> list[float | None]:
    """p50, p95, p99 in milliseconds; none for a month without calls (not 0 ms)."""
    return [float(v) for v in values] if calls and values else [None, None, None]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def month_figures(client: Client, first: date, last: date) -> MonthFigures:
    """Every figure of one month, read from the rollups, alerts, violations and measures."""
    params = {"first": first, "last": last}
    figures = MonthFigures(first, last)
    total = _rows(client, TRAFFIC, params)[0]
    figures.calls, figures.errors = int(total["calls"] or 0), int(total["errors"] or 0)
    figures.server_errors = int(total["server_errors"] or 0)
    figures.latency = _latency(total["latency"], figures.calls)
    for row in _rows(client, TRAFFIC_BY_CHANNEL, params):
        calls = int(row["calls"])
        figures.channels.append({
            "channel": row["channel"], "calls": calls,
            "error_rate": int(row["errors"]) / calls if calls else None,
            "availability": 1 - int(row["server_errors"]) / calls if calls else None,
            "p95": _latency(row["latency"], calls)[1]})
    daily = _rows(client, DAILY_AVAILABILITY, params)
    figures.days_below_target = sum(1 for d in daily if d["availability"] < AVAILABILITY_TARGET)
    figures.worst_days = daily[:3]
    figures.top_datasets = _rows(client, TOP, {**params, "limit": TOP_DATASETS})
    figures.new_consumers = {r["kind"]: int(r["consumers"]) for r in _rows(client, NEW_CONSUMERS, params)}
    alerts = _rows(client, ALERTS, params)
    figures.alerts = {s: sum(int(r["alerts"]) for r in alerts if r["severity"] == s) for s in SEVERITIES}
    figures.alert_groups = sum(int(r["groups"]) for r in alerts)
    verdicts = _rows(client, VERDICTS, params)[0]
    figures.confirmed, figures.dismissed = int(verdicts["confirmed"]), int(verdicts["dismissed"])
    figures.escalated = int(verdicts["escalated"])
    figures.violations = [{**r, "violations": int(r["violations"])}
                          for r in _rows(client, VIOLATIONS, params)]
    figures.new_measures = {k: int(v) for k, v in _rows(client, NEW_MEASURES, params)[0].items()}
    month_end = datetime.combine(last + timedelta(days=1), time(0), clock.SHANGHAI)
    figures.in_force = {k: int(v) for k, v in
                        _rows(client, IN_FORCE, {"end": clock.epoch(month_end)})[0].items()}
    return figures


@dataclass
class OperationReport:
    month: str
    current: MonthFigures
    previous: MonthFigures


def operation_report(client: Client, month: str, today: date | None = None) -> OperationReport:
    """The month (up to today, for the current one) beside the whole month before."""
    first, last = report_month(month, today or clock.today())
    return OperationReport(f"{first:%Y-%m}", month_figures(client, first, last),
                           month_figures(client, *month_before(first)))


# ---------------------------------------------------------------- wording

def percent(value: float | None, decimals: int = 2) -> str:
    return "—" if value is None else f"{100 * value:.{decimals}f}%"


def change_text(current: float | int | None, previous: float | int | None, *, share: bool = False,
                unit: str = "") -> str:
    """较上月: a change in percentage points for shares, in per cent (and the amount) for counts."""
    if current is None or previous is None:
        return "不可比"
    if share:
        points = 100 * (current - previous)
        if abs(points) < 0.005:
            return "持平"
        return f"{'上升' if points > 0 else '下降'} {abs(points):.2f} 个百分点"
    difference = current - previous
    if difference == 0:
        return "持平"
    direction = "增加" if difference > 0 else "减少"
    digits = 0 if isinstance(difference, int) else 1
    amount = f"{abs(difference):,.{digits}f}{unit}"
    if not previous:
        return f"{direction} {amount}（上月为零）"
    return f"{direction} {amount}（{abs(difference) / previous:.1%}）"


def key_rows(report: OperationReport) -> list[list[Any]]:
    """(指标, 本月, 上月, 较上月) for the report's first table and the workbook."""
    c, p = report.current, report.previous
    consumers_c, consumers_p = sum(c.new_consumers.values()), sum(p.new_consumers.values())
    alerts_c, alerts_p = sum(c.alerts.values()), sum(p.alerts.values())
    in_force_c, in_force_p = sum(c.in_force.values()), sum(p.in_force.values())
    return [
        ["可用率", percent(c.availability), percent(p.availability),
         change_text(c.availability, p.availability, share=True)],
        ["调用总量（次）", c.calls, p.calls, change_text(c.calls, p.calls, unit="次")],
        ["错误率", percent(c.error_rate), percent(p.error_rate),
         change_text(c.error_rate, p.error_rate, share=True)],
        ["响应时间中位数（毫秒）", _ms(c.latency[0]), _ms(p.latency[0]),
         change_text(_ms(c.latency[0]), _ms(p.latency[0]), unit="毫秒")],
        ["响应时间第95百分位（毫秒）", _ms(c.latency[1]), _ms(p.latency[1]),
         change_text(_ms(c.latency[1]), _ms(p.latency[1]), unit="毫秒")],
        ["响应时间第99百分位（毫秒）", _ms(c.latency[2]), _ms(p.latency[2]),
         change_text(_ms(c.latency[2]), _ms(p.latency[2]), unit="毫秒")],
        ["新增利用主体（个）", consumers_c, consumers_p, change_text(consumers_c, consumers_p, unit="个")],
        ["监测告警（条）", alerts_c, alerts_p, change_text(alerts_c, alerts_p, unit="条")],
        ["违法违规记录（起）", c.violation_count, p.violation_count,
         change_text(c.violation_count, p.violation_count, unit="起")],
        ["月末在执行的限制、关闭措施（项）", in_force_c, in_force_p,
         change_text(in_force_c, in_force_p, unit="项")],
    ]


def summary_lines(report: OperationReport) -> list[tuple[str, str]]:
    """The key figures as (label, value with the change) for a notification."""
    return [(row[0], f"{doc.cell_text(row[1])}（{row[3]}）") for row in key_rows(report)]


def _overview(report: OperationReport) -> list:
    c = report.current
    availability = percent(c.availability)
    latency = (f"响应时间中位数 {c.latency[0]:.1f} 毫秒、第95百分位 {c.latency[1]:.1f} 毫秒。"
               if c.calls else "本月无调用记录，响应时间无从计算。")
    text = (f"{c.period}，开放平台共受理调用 {c.calls:,} 次，可用率 {availability}，"
            f"错误率 {percent(c.error_rate)}，{latency}"
            f"可用率低于 {percent(AVAILABILITY_TARGET, 1)} 的有 {c.days_below_target} 天。"
            f"本月新增利用主体 {sum(c.new_consumers.values())} 个；监测发现告警 {sum(c.alerts.values())} 条"
            f"（{c.alert_groups} 组），其中严重 {c.alerts.get('critical', 0)} 条；认定违规 {c.confirmed} 条、"
            f"排除 {c.dismissed} 条，超时未处置升级通知 {c.escalated} 条；"
            f"记录违法违规行为 {c.violation_count} 起。")
    return [
        doc.Heading("一、总体情况"),
        doc.Paragraph(text),
        doc.Table(["指标", "本月", "上月", "较上月"], key_rows(report), widths=[3, 1.4, 1.4, 2.6],
                  note="可用率为未发生服务端错误的调用占比；错误率为返回客户端或服务端错误的调用占比。"),
    ]


def _channels(report: OperationReport) -> list:
    previous = {r["channel"]: r for r in report.previous.channels}
    rows = [[CHANNEL_LABELS.get(r["channel"], "其他方式"), r["calls"], percent(r["error_rate"]),
             percent(r["availability"]), round(r["p95"], 1),
             change_text(r["error_rate"], previous.get(r["channel"], {}).get("error_rate"), share=True)]
            for r in report.current.channels]
    worst = "；".join(f"{d['day']:%m月%d日} {percent(d['availability'])}" for d in report.current.worst_days)
    return [
        doc.Heading("二、运行质量"),
        doc.Heading("（一）分渠道错误率与响应时间", 2),
        doc.Table(["渠道", "调用量（次）", "错误率", "可用率", "第95百分位（毫秒）", "错误率较上月"], rows,
                  widths=[1.4, 1.4, 1, 1, 1.4, 2]),
        doc.Heading("（二）可用率最低的日期", 2),
        doc.Paragraph(f"本月可用率最低的日期为：{worst}。" if worst else "本月无调用记录。"),
    ]


def _usage(report: OperationReport) -> list:
    rows = [[n, r["dataset"] or "未登记数据集", r["agency"] or "—", r["calls"], r["downloads"]]
            for n, r in enumerate(report.current.top_datasets, start=1)]
    kinds = "、".join(f"{KIND_LABELS.get(k, '其他')} {v} 个" for k, v in report.current.new_consumers.items())
    return [
        doc.Heading("三、数据利用"),
        doc.Heading("（一）调用量居前的数据集", 2),
        doc.Table(["序号", "数据集", "数据开放主体", "调用量（次）", "其中下载（次）"], rows,
                  widths=[0.6, 3, 2.4, 1.2, 1.2]),
        doc.Heading("（二）新增利用主体", 2),
        doc.Paragraph(f"本月新增利用主体 {sum(report.current.new_consumers.values())} 个"
                      + (f"，其中{kinds}。" if kinds else "。")),
    ]


def _violation_row(row: dict[str, Any]) -> list[Any]:
    return [SOURCE_LABELS.get(row["source"], "其他来源"), f"第三十一条{doc.number(2, row['category'])}",
            row["violations"]]


def _security(report: OperationReport) -> list:
    c, p = report.current, report.previous
    alert_rows = [[SEVERITY_LABELS[s], c.alerts.get(s, 0), p.alerts.get(s, 0),
                   change_text(c.alerts.get(s, 0), p.alerts.get(s, 0), unit="条")]
                  for s in reversed(SEVERITIES)]
    violation_rows = [_violation_row(v) for v in c.violations]
    measures = (f"本月新采取限制数据获取权限措施 {c.new_measures.get('restrict', 0)} 项、"
                f"关闭数据获取权限措施 {c.new_measures.get('close', 0)} 项；月末仍在执行的有："
                f"限制数据获取权限 {c.in_force.get('restricted', 0)} 项、"
                f"关闭数据获取权限 {c.in_force.get('closed', 0)} 项。")
    return [
        doc.Heading("四、安全监测与违规处置"),
        doc.Heading("（一）监测告警", 2),
        doc.Table(["严重程度", "本月（条）", "上月（条）", "较上月"], alert_rows,
                  widths=[1.4, 1.4, 1.4, 2.6]),
        doc.Heading("（二）违法违规记录", 2),
        doc.Table(["来源", "情形", "记录数（起）"], violation_rows or [["—", "本月无记录", 0]],
                  widths=[2, 3, 1.4]),
        doc.Heading("（三）处理措施", 2),
        doc.Paragraph(measures),
    ]


def _compared(report: OperationReport) -> str:
    before = month_label(report.previous.first)
    if report.current.whole_month:
        return f"（与{before}比较）"
    return f"（本月数据截至{chinese_date(report.current.last)}，与{before}全月比较）"


def operation_document(report: OperationReport, settings: Settings) -> doc.Document:
    """The report as blocks, shared by the PDF and DOCX writers."""
    label = month_label(report.current.first)
    day = settings.report_date or clock.today()
    document = doc.Document(f"{label}公共数据开放平台运行情况报告")
    document.add(
        doc.Paragraph(f"{label}公共数据开放平台运行情况报告", "title"),
        doc.Paragraph(_compared(report), "subtitle"),
        doc.Paragraph("根据《上海市公共数据开放实施细则（征求意见稿）》第三十七条关于市大数据中心对开放平台运行情况"
                      f"进行监测统计并提交运行报告的规定，现将{report.current.period}开放平台运行情况报告如下。"),
        *_overview(report), *_channels(report), *_usage(report), *_security(report),
        doc.Paragraph(""),
        doc.Paragraph("上海市大数据中心", "signature"),
        doc.Paragraph(chinese_date(day), "signature"),
    )
    return document


def operation_sheets(report: OperationReport) -> list[Sheet]:
    c = report.current
    label = month_label(c.first)
    explanation = [
        ["报告", f"{label}公共数据开放平台运行情况报告"],
        ["数据截至", chinese_date(c.last)],
        ["比较月份", month_label(report.previous.first)],
        ["可用率", "未发生服务端错误的调用占全部调用的比例。"],
        ["错误率", "返回客户端错误或服务端错误的调用占全部调用的比例。"],
        ["工作表“关键指标”", "本月与上月的关键数字及变化。"],
        ["工作表“分渠道”", "接口调用与文件下载的调用量、错误率、可用率和响应时间。"],
        ["工作表“调用量居前的数据集”", f"本月调用量最多的 {TOP_DATASETS} 个数据集。"],
        ["工作表“违法违规记录”", "本月按来源和情形统计的违法违规记录。"],
    ]
    channels = [[CHANNEL_LABELS.get(r["channel"], "其他方式"), r["calls"], r["error_rate"], r["availability"],
                 r["p95"]] for r in c.channels]
    top = [[n, r["dataset"] or "未登记数据集", r["agency"] or "", r["calls"], r["downloads"]]
           for n, r in enumerate(c.top_datasets, start=1)]
    violations = [_violation_row(v) for v in c.violations]
    return [
        Sheet("说明", [Column("项目", width=24), Column("内容", width=80)], explanation),
        Sheet("关键指标", [Column("指标"), Column("本月"), Column("上月"), Column("较上月")],
              [[row[0], doc.cell_text(row[1]), doc.cell_text(row[2]), row[3]] for row in key_rows(report)]),
        Sheet("分渠道", [Column("渠道"), Column("调用量", "int"), Column("错误率", "percent"),
                        Column("可用率", "percent"), Column("第95百分位（毫秒）", "number")], channels),
        Sheet("调用量居前的数据集", [Column("序号", "int"), Column("数据集"), Column("数据开放主体"),
                                 Column("调用量", "int"), Column("其中下载", "int")], top),
        Sheet("违法违规记录", [Column("来源"), Column("情形"), Column("记录数", "int")], violations),
    ]


def write_operation_report(
    client: Client, settings: Settings, month: str, fmt: str, out: Path, today: date | None = None
) -> Path:
    """Write the month's platform-operation report as pdf, docx or xlsx (`today`: the day it is written)."""
    fmt = check_format(fmt, OPERATION_FORMATS)
    report = operation_report(client, month, today)
    if fmt == "xlsx":
        return write_atomically(Path(out), lambda tmp: write_workbook(tmp, operation_sheets(report)))
    document = operation_document(report, settings)
    writer = write_pdf if fmt == "pdf" else write_docx
    return write_atomically(Path(out), lambda tmp: writer(document, tmp))
