"""The per-consumer usage report draft (第二十九条) as DOCX or PDF.

The figures come from QUALITY's reports.usage.consumer_usage_report (calls, main
fields used, scenarios, agreements, reports already filed); what only the consumer
can say (business model, benefits, algorithms) is left as marked blanks to fill in.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clickhouse_connect.driver.client import Client

from reports.export import document as doc
from reports.export.docx_writer import write_docx
from reports.export.files import check_format, write_atomically
from reports.export.pdf_writer import write_pdf
from reports.usage import consumer_usage_report

CONSUMER_FORMATS = ("docx", "pdf")
KIND_LABELS = {"person": "自然人", "company": "企业", "organisation": "非法人组织"}
TO_FILL = "(由数据利用主体填写)"
LOGGED_NOTE = "日志调用数为本草稿所选期间网关记录的该数据集调用次数,与已报送报告的期间不一定相同,仅供核对。"
DRAFT_NOTE = ("本草稿依据《上海市公共数据开放实施细则》第二十九条,由开放平台网关日志自动生成,"
              "调用次数和主要利用字段为平台记录;请利用主体核对并补充第四部分后报送。")


def _fields_text(dataset: dict) -> str:
    return ",".join(f"{f['field']}({f['share']:.0%})" for f in dataset["main_fields"]) or "—"


def _scenarios_text(dataset: dict) -> str:
    return ",".join(f"{s['scenario'] or '未声明'} {s['calls']:,}" for s in dataset["scenarios"]) or "—"


def _basics(report: dict) -> list:
    consumer, totals, period = report["consumer"], report["totals"], report["period"]
    split = f"{totals['api_calls']:,} / {totals['downloads']:,}"
    rows = [["利用主体", consumer["name"]], ["类型", KIND_LABELS.get(consumer["kind"], consumer["kind"])],
            ["统一社会信用代码", consumer["credit_code"]], ["报告期", f"{period['from']} 至 {period['to']}"],
            ["调用次数", totals["calls"]], ["其中 API / 下载", split], ["获取数据行数", totals["rows"]],
            ["涉及数据集", totals["datasets"]], ["活跃天数", totals["days_active"]]]
    return [doc.Heading("一、基本情况"), doc.Table(["项目", "内容"], rows, widths=[1, 3])]


def _usage(report: dict) -> list:
    rows = [[d["dataset_name"] or d["dataset_id"], d["agency_name"], d["calls"], d["downloads"], d["rows"],
             d["days_active"], _fields_text(d), _scenarios_text(d)] for d in report["datasets"]]
    headers = ["数据集", "数据开放主体", "调用次数", "下载", "数据行数", "活跃天数", "主要利用字段", "场景"]
    return [doc.Heading("二、数据调用次数与主要利用字段(第二十九条第二项)"),
            doc.Table(headers, rows, widths=[2, 2, 1, 0.8, 1, 0.8, 2.6, 2],
                      note="主要利用字段括号内为该字段在该数据集请求中的占比;“*”表示请求全部字段。")]


def _agreements(report: dict) -> list:
    rows, filed = [], []
    for d in report["datasets"]:
        for a in d["agreements"]:
            rows.append([a["agreement_id"], d["dataset_name"] or d["dataset_id"], ",".join(a["scenarios"]),
                         f"{a['valid_from']} 至 {a['valid_to']}", a["daily_call_quota"]])
        for r in d["filed_reports"]:
            filed.append([r["report_id"], d["dataset_name"] or d["dataset_id"],
                          f"{r['period_start']} 至 {r['period_end']}", r["due_date"], r["filed_at"],
                          r["calls_reported"], d["calls"]])
    agreement_headers = ["协议编号", "数据集", "约定场景", "有效期", "日调用上限"]
    filed_headers = ["报告编号", "数据集", "报告期", "应报日期", "报送时间", "报送调用数",
                     "本草稿期间日志调用数"]
    return [doc.Heading("三、数据利用协议与已报送情况"),
            doc.Table(agreement_headers, rows, widths=[1.5, 2, 2, 2, 1]),
            doc.Table(filed_headers, filed, widths=[1.4, 2, 2, 1.1, 1.4, 1, 1],
                      note=LOGGED_NOTE)]


def _to_fill() -> list:
    items = ["(一)数据调用的主要场景、服务对象、商业模式", "(二)使用的相关算法",
             "(三)产生的成本降低、管理优化等经济和社会效益"]
    return [doc.Heading("四、需利用主体补充的内容")] + [doc.Paragraph(f"{item}:{TO_FILL}") for item in items]


def consumer_document(report: dict) -> doc.Document:
    name = report["consumer"]["name"] or report["consumer"]["consumer_id"]
    document = doc.Document(f"数据利用情况报告(草稿)· {name}")
    period = f"{report['period']['from']} 至 {report['period']['to']}"
    document.add(doc.Paragraph("公共数据利用情况报告(草稿)", "title"),
                 doc.Paragraph(f"{name} · {period}", "subtitle"),
                 doc.Paragraph(DRAFT_NOTE, "small"))
    for part in (_basics(report), _usage(report), _agreements(report), _to_fill()):
        document.add(*part)
    return document


def write_consumer_report(client: Client, consumer_id: str, date_from: date, date_to: date, fmt: str,
                          out: Path) -> Path:
    """Write one consumer's 第二十九条 usage report draft for the period as docx or pdf."""
    fmt = check_format(fmt, CONSUMER_FORMATS)
    document = consumer_document(consumer_usage_report(client, consumer_id, date_from, date_to))
    writer = write_pdf if fmt == "pdf" else write_docx
    return write_atomically(Path(out), lambda tmp: writer(document, tmp))
