"""The per-consumer usage report draft (第二十九条) as DOCX or PDF.

The five items of 第二十九条: (一) scenarios, service objects, business model; (二) calls, the
main fields used, algorithms; (三) benefits; (四) suggestions on data quality and supply; (五) the
security measures taken. What the logs know is filled in (reports.usage.consumer_usage_report:
calls, fields, scenarios, agreements); what only the consumer can say is left as a marked
blank, and (四) and (五) carry prompts built from what the platform knows. Each report already
filed is reconciled with the calls the gateway logged for the same period.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from clickhouse_connect.driver.client import Client

from detectors.violations import mask_person_name
from odwatch.i18n import chinese_date
from reports.export import document as doc
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.usage import consumer_usage_report, log_days

CONSUMER_FORMATS = ("docx", "pdf")
KIND_LABELS = {"person": "自然人", "company": "企业", "organisation": "非法人组织"}
TO_FILL = "（由数据利用主体填写）"
DRAFT_NOTE = (
    "本草稿依据《上海市公共数据开放实施细则（征求意见稿）》第二十九条（该细则尚为征求意见稿，以正式"
    "发布"
    "文本为准），由开放平台网关日志自动生成：调用次数和主要利用字段为平台记录，请数据利用主体核对，"
    "补充标注“由数据利用主体填写”的内容后报送。"
)

# Calls the gateway logged for a consumer and dataset over each filed report's own period.
LOGGED_IN_PERIODS = """
SELECT r.report_id AS report_id, sum(u.calls) - sum(u.errors) AS logged
FROM (
    SELECT report_id, dataset_id, period_start, period_end
    FROM usage_reports FINAL
    WHERE report_id IN {report_ids:Array(String)}
) AS r
INNER JOIN (
    SELECT day, dataset_id, calls, errors FROM usage_daily WHERE consumer_id = {consumer_id:String}
) AS u ON u.dataset_id = r.dataset_id
WHERE u.day BETWEEN r.period_start AND r.period_end
GROUP BY r.report_id
"""

FIELD_DESCRIPTIONS = """
SELECT dataset_id, fields FROM datasets FINAL WHERE dataset_id IN {dataset_ids:Array(String)}
"""


def _logged_in_periods(client: Client, consumer_id: str, report_ids: list[str]) -> dict[str, int]:
    if not report_ids:
        return {}
    result = client.query(
        LOGGED_IN_PERIODS, parameters={"consumer_id": consumer_id, "report_ids": report_ids}
    )
    return {report_id: int(logged) for report_id, logged in result.result_rows}


def _field_labels(client: Client, dataset_ids: list[str]) -> dict[str, dict[str, str]]:
    """Per dataset, field name → its description in the catalog (what a reader understands)."""
    labels: dict[str, dict[str, str]] = {}
    if not dataset_ids:
        return labels
    for dataset_id, fields in client.query(
        FIELD_DESCRIPTIONS, parameters={"dataset_ids": dataset_ids}
    ).result_rows:
        try:
            items = json.loads(fields or "[]")
        except ValueError:
            items = []
        labels[dataset_id] = {
            f["name"]: f.get("description") or "" for f in items if isinstance(f, dict) and f.get("name")
        }
    return labels


def _field_text(dataset: dict, labels: dict[str, str]) -> str:
    parts = []
    for f in dataset["main_fields"]:
        name = "全部字段" if f["field"] == "*" else (labels.get(f["field"]) or "未登记说明的字段")
        parts.append(f"{name}（{f['share']:.0%}）")
    return "，".join(parts) or "—"


def _subject_name(consumer: dict) -> str:
    name = consumer["name"] or "未登记名称"
    return mask_person_name(name) if consumer["kind"] == "person" else name


def _scenarios(report: dict) -> list:
    rows = [
        [
            d["dataset_name"] or "未登记名称",
            "，".join(f"{s['scenario'] or '未声明'}（{s['calls']:,} 次）" for s in d["scenarios"]) or "—",
        ]
        for d in report["datasets"]
    ]
    return [
        doc.Heading("（一）数据调用的主要场景、服务对象、商业模式", 2),
        doc.Paragraph("网关记录的申报场景如下表（场景为调用时申报的应用场景）。"),
        doc.Table(["数据集", "申报场景及调用次数"], rows, widths=[2, 5]),
        doc.Paragraph(f"主要场景说明：{TO_FILL}"),
        doc.Paragraph(f"服务对象：{TO_FILL}"),
        doc.Paragraph(f"商业模式：{TO_FILL}"),
    ]


def _calls(report: dict, labels: dict[str, dict[str, str]]) -> list:
    totals = report["totals"]
    rows = [
        [
            d["dataset_name"] or "未登记名称",
            d["agency_name"] or "—",
            f"{d['calls']:,} 次",
            f"{d['downloads']:,} 次",
            f"{d['rows']:,} 行",
            f"{d['days_active']} 天",
            _field_text(d, labels.get(d["dataset_id"], {})),
        ]
        for d in report["datasets"]
    ]
    summary = (
        f"报告期内共调用 {totals['calls']:,} 次（接口调用 {totals['api_calls']:,} 次、下载 "
        f"{totals['downloads']:,} 次），涉及数据集 {totals['datasets']} 个，获取数据 "
        f"{totals['rows']:,} 行，"
        f"活跃 {totals['days_active']} 天。"
    )
    return [
        doc.Heading("（二）数据调用的次数、主要利用的字段，使用的相关算法", 2),
        doc.Paragraph(summary),
        doc.Table(
            [
                "数据集",
                "数据开放主体",
                "调用次数",
                "其中下载",
                "数据行数",
                "活跃天数",
                "主要利用字段（占比）",
            ],
            rows,
            widths=[1.8, 1.6, 1, 0.9, 1, 0.8, 2.6],
            note="主要利用字段括号内为该字段在该数据集请求中的占比。",
        ),
        doc.Paragraph(f"使用的相关算法：{TO_FILL}"),
    ]


def _benefits() -> list:
    return [doc.Heading("（三）产生的成本降低、管理优化等经济和社会效益", 2), doc.Paragraph(TO_FILL)]


def _suggestions(report: dict) -> list:
    names = "、".join(d["dataset_name"] or "未登记名称" for d in report["datasets"][:5]) or "所利用的数据集"
    return [
        doc.Heading("（四）数据质量、数据供给模式等方面提升建议", 2),
        doc.Paragraph(
            f"请结合使用{names}的情况填写，例如：数据是否存在错值、空值、重复，字段说明是否清楚，"
            f"更新是否及时，接口或下载方式、数据格式是否便于使用。{TO_FILL}"
        ),
    ]


def _security(report: dict) -> list:
    agreements = [a for d in report["datasets"] for a in d["agreements"]]
    known = f"平台记录的利用协议 {len(agreements)} 份。" if agreements else ""
    return [
        doc.Heading("（五）已采取的安全保障措施", 2),
        doc.Paragraph(
            f"{known}请说明已采取的数据安全保障措施，例如：访问权限和账号密钥管理、访问地址限制、"
            f"数据存储加密和销毁、人员管理、按协议约定场景使用的控制措施。{TO_FILL}"
        ),
    ]


def _reconciliation(client: Client, report: dict) -> list:
    consumer_id = report["consumer"]["consumer_id"]
    filed = [(d, r) for d in report["datasets"] for r in d["filed_reports"]]
    logged = _logged_in_periods(client, consumer_id, [r["report_id"] for _, r in filed])
    covers = log_days(client)      # a report period outside these days cannot be checked against it
    rows = []
    for d, r in filed:
        in_log = logged.get(r["report_id"], 0)
        covered = covers is not None and r["period_end"] >= covers[0] and r["period_start"] <= covers[1]
        rows.append(
            [
                d["dataset_name"] or "未登记名称",
                f"{chinese_date(r['period_start'])}至{chinese_date(r['period_end'])}",
                "未报送" if r["filed_at"] is None else doc.cell_text(r["filed_at"]),
                f"{r['calls_reported']:,} 次",
                f"{in_log:,} 次" if covered else "日志未覆盖",
                f"{r['calls_reported'] - in_log:+,} 次" if covered else "—",
            ]
        )
    blocks = [doc.Heading("附：已报送报告与网关记录核对", 2)]
    if not rows:
        return blocks + [doc.Paragraph("报告期内没有已报送或应报送的利用情况报告。")]
    return blocks + [
        doc.Table(
            ["数据集", "报告期", "报送时间", "报送调用次数", "同期网关记录", "差额"],
            rows,
            widths=[2, 2.2, 1.5, 1.2, 1.2, 1],
            note="同期网关记录为该报告自身报告期内网关记录的有效调用次数（不含失败调用）。"
            + (f"网关日志记录期为{chinese_date(covers[0])}至{chinese_date(covers[1])}，"
               "报告期在此之外的无法核对。" if covers else "平台尚无网关日志，无法核对。"),
        )
    ]


def consumer_document(client: Client, report: dict) -> doc.Document:
    consumer = report["consumer"]
    name = _subject_name(consumer)
    period = f"{chinese_date(report['period']['from'])}至{chinese_date(report['period']['to'])}"
    labels = _field_labels(client, [d["dataset_id"] for d in report["datasets"]])
    document = doc.Document(f"公共数据利用情况报告（草稿）{name}")
    document.add(
        doc.Paragraph("公共数据利用情况报告", "title"),
        doc.Paragraph("（草稿）", "subtitle"),
        doc.Paragraph(
            f"数据利用主体：{name}（{KIND_LABELS.get(consumer['kind'], '其他')}）"
            + (f"，统一社会信用代码：{consumer['credit_code']}" if consumer["credit_code"] else "")
            + f"。报告期：{period}。",
            "body",
        ),
        doc.Paragraph(DRAFT_NOTE, "small"),
    )
    for part in (
        _scenarios(report),
        _calls(report, labels),
        _benefits(),
        _suggestions(report),
        _security(report),
        _reconciliation(client, report),
    ):
        document.add(*part)
    return document


def write_consumer_report(
    client: Client, consumer_id: str, date_from: date, date_to: date, fmt: str, out: Path
) -> Path:
    """Write one consumer's 第二十九条 usage report draft for the period as docx or pdf."""
    fmt = check_format(fmt, CONSUMER_FORMATS)
    document = consumer_document(client, consumer_usage_report(client, consumer_id, date_from, date_to))
    writer = write_pdf if fmt == "pdf" else write_docx
    return write_atomically(Path(out), lambda tmp: writer(document, tmp))
