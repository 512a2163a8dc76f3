"""The annual assessment report (第三十七条) as PDF, DOCX and XLSX.

Contents: cover, summary with key figures, ranking table, charts, one section per
agency with its dimension scores and the reasons behind lost points, an annex of
the worst datasets and their issues, and the violations of the year. PDF and DOCX
render the same `Document`; XLSX holds every table with typed columns.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.settings import Settings
from reports.evaluation import LABELS, AgencyEvaluation, Evaluation, evaluate_year
from reports.export import document as doc
from reports.export.charts import report_charts
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.export.tables import rows_to_frame, write_sheets

ANNUAL_FORMATS = ("pdf", "docx", "xlsx")
PRINTED_VIOLATIONS = 200
INPUT_LABELS = {
    "datasets": "数据集", "open_datasets": "开放数据集", "unconditional": "无条件开放",
    "conditional": "有条件开放", "domains": "领域", "new_datasets": "新增",
    "best_open_datasets": "最多部门开放数",
    "best_domains": "最多部门领域数", "checked_datasets": "已检测", "mean_score": "平均质量分",
    "scheduled_datasets": "定期更新数据集", "on_time": "按时", "late": "滞后", "applications": "受理申请",
    "reviewed": "已办结", "within_sla": "按时办结", "overdue": "超期办结", "pending_overdue": "逾期未办结",
    "median_working_days": "工作日中位数", "rejections": "不予受理/驳回", "missing_reason": "未告知理由",
    "calls": "有效调用", "downloads": "下载", "consumers": "利用主体", "used_datasets": "有调用数据集",
    "complaints": "投诉", "suspended_in_time": "及时中止", "verified_in_time": "及时核实",
    "pending": "未办结",
    "violations": "违规", "major": "重大事件", "minor": "一般违规",
}
KEY_FIGURES = [
    ("agencies", "参评数据开放主体"), ("open_datasets", "开放数据集"), ("new_datasets", "本年新增数据集"),
    ("calls", "有效调用次数"), ("downloads", "下载次数"), ("applications_reviewed", "应办结申请"),
    ("share_within_5_working_days", "5个工作日内办结率"), ("complaints", "投诉"),
    ("violations", "违规记录"), ("major_incidents", "重大安全事件"), ("mean_total", "平均总分"),
]


def _inputs_text(inputs: dict) -> str:
    parts = [f"{INPUT_LABELS.get(k, k)} {doc.cell_text(v)}" for k, v in inputs.items()
             if k in INPUT_LABELS and not isinstance(v, (list, dict))]
    return ";".join(parts)


def _key_figure_value(key: str, value) -> str:
    if key == "share_within_5_working_days" and value is not None:
        return f"{value:.1%}"
    return doc.cell_text(value)


def _cover(evaluation: Evaluation) -> list:
    generated = clock.now().strftime("%Y-%m-%d %H:%M")
    return [doc.Paragraph(f"{evaluation.year} 年度公共数据开放工作评估报告", "title"),
            doc.Paragraph("上海市公共数据开放平台 · 数据开放主体年度评估", "subtitle"),
            doc.Paragraph(f"数据截至 {evaluation.as_of.isoformat()} · 生成于 {generated}", "subtitle"),
            doc.PageBreak()]


def _summary(evaluation: Evaluation) -> list:
    figures = evaluation.key_figures
    rows = [[label, _key_figure_value(key, figures.get(key))] for key, label in KEY_FIGURES]
    rows.append(["等级分布", ",".join(f"{g} {n}" for g, n in figures.get("grades", {}).items())])
    weights = ",".join(f"{LABELS[k]} {w:g}" for k, w in evaluation.weights.items())
    blocks = [doc.Heading("一、总体情况"), doc.Table(["指标", "数值"], rows, widths=[2, 3]),
              doc.Paragraph(f"评估维度及分值:{weights}。等级:优秀 ≥ 90,良好 75–89,合格 60–74,不合格 < 60;"
                            "发生重大安全事件的部门等级封顶为合格。")]
    blocks += [doc.Paragraph(f"说明:{note}", "small") for note in evaluation.notes]
    return blocks + _method(evaluation)


def _method(evaluation: Evaluation) -> list:
    """How each dimension is scored: the same for every agency, so stated once."""
    if not evaluation.agencies:
        return []
    dimensions = evaluation.agencies[0].dimensions.values()
    rows = [[d.label, d.weight, d.formula, "是" if d.key in evaluation.assessed else "否(本年度无输入)"]
            for d in dimensions]
    return [doc.Heading("评估方法", 2), doc.Table(["维度", "分值", "计算方法", "纳入总分"], rows,
                                                 widths=[1.4, 0.7, 6, 1.6])]


def _ranking(evaluation: Evaluation) -> list:
    keys = list(evaluation.weights)
    headers = ["排名", "数据开放主体", "总分", "等级", *[LABELS[k] for k in keys], "较上年"]
    rows = [[a.rank, a.name, a.total, a.grade, *[a.dimensions[k].points for k in keys], a.change]
            for a in evaluation.agencies]
    widths = [0.8, 3, 1, 1, *[1] * len(keys), 1]
    return [doc.Heading("二、排名"), doc.Table(headers, rows, widths=widths,
                                              note="“—”表示该维度本年度未纳入评估,或无上年可比。")]


def _charts(evaluation: Evaluation) -> list:
    blocks: list = [doc.Heading("三、图表")]
    for caption, png in report_charts(evaluation):
        blocks.append(doc.Image(png, caption, width_cm=11 if "等级" in caption else 16))
    return blocks


def _agency_section(number: int, agency: AgencyEvaluation, count: int) -> list:
    change = "" if agency.change is None else (
        f",较上年 {agency.change:+.2f} 分(上年 {agency.previous_total:.2f} 分,第 {agency.previous_rank} 名)")
    cap = ",因重大安全事件等级封顶" if agency.capped else ""
    rows = [[d.label, d.weight, d.points, d.lost_points if d.ratio is not None else None,
             _inputs_text(d.inputs)] for d in agency.dimensions.values()]
    lost = [reason for d in agency.dimensions.values() for reason in (f"{d.label}:{x}" for x in d.lost)]
    headline = f"总分 {agency.total:.2f},等级 {agency.grade}{cap},排名 {agency.rank}/{count}{change}。"
    headers = ["维度", "分值", "得分", "失分", "依据"]
    blocks = [doc.Heading(f"4.{number} {agency.name}", 2), doc.Paragraph(headline),
              doc.Table(headers, rows, widths=[1.4, 0.7, 0.7, 0.7, 6.4])]
    if lost:
        blocks.append(doc.Paragraph("失分原因:\n" + "\n".join(f"· {reason}" for reason in lost)))
    return blocks


def _agencies(evaluation: Evaluation) -> list:
    blocks: list = [doc.PageBreak(), doc.Heading("四、各数据开放主体评估情况")]
    for number, agency in enumerate(evaluation.agencies, start=1):
        blocks += _agency_section(number, agency, len(evaluation.agencies))
    return blocks


def _issue_text(issue: dict) -> str:
    where = f"字段 {issue['field']}" if issue.get("field") else ""
    count = f",{issue['count']} 处" if issue.get("count") else ""
    example = f",例:{issue['example']}" if issue.get("example") else ""
    cause = issue.get("cause") or issue.get("rule") or ""
    return f"{cause} {where}{count}{example}(-{issue.get('points', 0)})"


def _annex(evaluation: Evaluation) -> list:
    rows = [[i, w["dataset"], w["agency"], w["total"], "\n".join(_issue_text(x) for x in w["issues"]) or "—"]
            for i, w in enumerate(evaluation.worst_datasets, start=1)]
    headers = ["序号", "数据集", "数据开放主体", "质量分", "主要问题"]
    return [doc.PageBreak(), doc.Heading("附件一、质量最差的数据集及其问题"),
            doc.Table(headers, rows, widths=[0.6, 2.5, 2.2, 0.9, 5])]


def violation_rows(evaluation: Evaluation) -> list[dict]:
    return [{"violation_id": v["violation_id"], "recorded_at": v["recorded_at"], "agency": v["agency_name"],
             "dataset": v["dataset_name"] or v["dataset_id"],
             "consumer": v["consumer_name"] or v["consumer_id"],
             "category": v["article"] + v["category_label"], "severity": v["severity"],
             "measures": ",".join(m["action_label"] for m in v["measures"]),
             "publicized": bool(v["publicized"])}
            for v in evaluation.violations]


def _violations(evaluation: Evaluation) -> list:
    rows = [list(r.values()) for r in violation_rows(evaluation)[:PRINTED_VIOLATIONS]]
    note = ""
    if len(evaluation.violations) > PRINTED_VIOLATIONS:
        note = f"共 {len(evaluation.violations)} 条,此处列出最近 {PRINTED_VIOLATIONS} 条;完整清单见 XLSX 版。"
    headers = ["编号", "记录时间", "数据开放主体", "数据集", "利用主体", "类别", "严重程度",
               "处理措施", "已公示"]
    return [doc.Heading("附件二、本年度违法违规记录"),
            doc.Table(headers, rows, widths=[1.4, 1.4, 1.6, 1.6, 1.6, 2.6, 0.8, 1.2, 0.7], note=note)]


def annual_document(evaluation: Evaluation) -> doc.Document:
    """The report as blocks, shared by the PDF and DOCX writers."""
    document = doc.Document(f"{evaluation.year} 年度公共数据开放工作评估报告")
    for part in (_cover, _summary, _ranking, _charts, _agencies, _annex, _violations):
        document.add(*part(evaluation))
    return document


def annual_sheets(evaluation: Evaluation) -> dict[str, pl.DataFrame]:
    """Every table of the report as a typed frame, one per worksheet."""
    figures = [{"指标": label, "数值": evaluation.key_figures.get(key)} for key, label in KEY_FIGURES]
    issue_keys = ("dimension", "points", "cause", "field", "rule", "count", "example")
    issues = [{"dataset_id": w["dataset_id"], "dataset": w["dataset"], "agency": w["agency"],
               "total": w["total"], **{k: issue.get(k) for k in issue_keys}}
              for w in evaluation.worst_datasets for issue in (w["issues"] or [{}])]
    return {
        "关键指标": pl.DataFrame(figures, schema={"指标": pl.String, "数值": pl.Float64}),
        "排名": rows_to_frame(evaluation.ranking_rows()),
        "得分明细": rows_to_frame(evaluation.dimension_rows()),
        "最差数据集": rows_to_frame(issues),
        "违规记录": rows_to_frame(violation_rows(evaluation)),
        "说明": pl.DataFrame({"说明": evaluation.notes or ["—"]}),
    }


def render_annual(evaluation: Evaluation, fmt: str, out: Path, document: doc.Document | None = None) -> Path:
    """Write an already computed evaluation in one format; pass `document` to reuse its charts."""
    fmt = check_format(fmt, ANNUAL_FORMATS)
    if fmt == "xlsx":
        return write_atomically(out, lambda tmp: write_sheets(str(tmp), annual_sheets(evaluation)))
    document = document or annual_document(evaluation)
    writer = write_pdf if fmt == "pdf" else write_docx
    return write_atomically(out, lambda tmp: writer(document, tmp))


def write_annual_report(client: Client, settings: Settings, year: int, fmt: str, out: Path) -> Path:
    """Evaluate `year` and write the annual assessment report as pdf, docx or xlsx."""
    check_format(fmt, ANNUAL_FORMATS)
    return render_annual(evaluate_year(client, settings, year), fmt, Path(out))
