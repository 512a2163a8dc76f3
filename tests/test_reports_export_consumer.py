"""The consumer usage report (reports/export/consumer.py; 第二十九条): its five items, the calls it
reported reconciled with the gateway's log, a natural person masked; DOCX and PDF written and read back."""

from datetime import date

import pytest
from docx import Document
from evaluation_year import build_two_agency_year
from pypdf import PdfReader

from odwatch.errors import UserError
from reports.export.consumer import write_consumer_report

AGREEMENT = """
INSERT INTO agreements (agreement_id, application_id, consumer_id, dataset_id, scenarios, allowed_fields,
                        ip_allowlist, daily_call_quota, daily_row_quota, valid_from, valid_to, signed_at)
VALUES ('g1', 'p1', 'c1', 'd1', ['traffic_app'], ['line', 'stop'], [], 1000, 100000,
        '2025-01-01', '2026-12-31', '2025-01-01 00:00:00')
"""
FIELDS_LOG = """
INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, fields, scenario,
                        client_ip)
SELECT concat('f-', toString(number)), toDateTime64('2025-06-03 10:00:00', 3, 'Asia/Shanghai'), 'c1', 'd1',
       'api', 200, 5, if(number < 30, ['line', 'stop'], ['line']), 'traffic_app', '10.0.0.1' FROM numbers(40)
"""


FILED_REPORT = """
INSERT INTO usage_reports (report_id, agreement_id, consumer_id, dataset_id, period_start, period_end,
                           due_date,
                           filed_at, calls_reported, fields_reported)
VALUES ('u1', 'g1', 'c1', 'd1', '2025-06-01', '2025-06-15', '2025-06-30', '2025-06-20 10:00:00', 120,
        ['line'])
"""


def test_consumer_report_has_the_five_items_and_reconciles_reported_calls(client, tmp_path):
    build_two_agency_year(client)
    for statement in (AGREEMENT, FIELDS_LOG, FILED_REPORT):
        client.command(statement)
    june = (date(2025, 6, 1), date(2025, 6, 30))
    out = write_consumer_report(client, "c1", *june, "docx", tmp_path / "c1.docx")
    document = Document(out)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert [h[:3] for h in headings[:5]] == ["（一）", "（二）", "（三）", "（四）", "（五）"]
    assert headings[3] == "（四）数据质量、数据供给模式等方面提升建议" and headings[5].startswith("附：")
    text = "\n".join(p.text for p in document.paragraphs)
    # (四) and (五) are prompts.
    assert "请结合使用公交线路的情况填写" in text and "请说明已采取的数据安全保障措施" in text
    assert "征求意见稿" in text
    usage = next(t for t in document.tables if t.rows[0].cells[0].text == "数据集" and len(t.columns) == 7)
    row = [c.text for c in usage.rows[1].cells]
    assert row[0] == "公交线路" and row[2] == "140 次"           # 100 + 40 calls in June
    scenarios = next(t for t in document.tables if t.rows[0].cells[1].text == "申报场景及调用次数")
    assert "traffic_app（40 次）" in scenarios.rows[1].cells[1].text
    # The filed report covers June 1-15: the log has the 100 calls of June 2 and the 40 of June 3 in it.
    reconciled = next(t for t in document.tables if t.rows[0].cells[-2].text == "同期网关记录")
    assert [c.text for c in reconciled.rows[1].cells][3:] == ["120 次", "140 次", "-20 次"]
    pdf = write_consumer_report(client, "c1", *june, "pdf", tmp_path / "c1.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "上海某某科技有限公司" in text and "第二十九条" in text
    person = Document(write_consumer_report(client, "c2", *june, "docx", tmp_path / "c2.docx"))
    assert "张*（自然人）" in person.paragraphs[2].text and "张三" not in person.paragraphs[2].text
    with pytest.raises(UserError):
        write_consumer_report(client, "nobody", *june, "docx", tmp_path / "x.docx")


def test_a_report_period_before_the_log_began_is_not_read_as_over_reporting(client, tmp_path):
    build_two_agency_year(client)       # its gateway log begins on 2 June 2025
    for statement in (AGREEMENT, FIELDS_LOG, FILED_REPORT, FILED_REPORT.replace(
            "('u1', 'g1', 'c1', 'd1', '2025-06-01', '2025-06-15', '2025-06-30'",
            "('u0', 'g1', 'c1', 'd1', '2025-01-01', '2025-03-31', '2025-04-30'")):
        client.command(statement)
    first_half = (date(2025, 1, 1), date(2025, 6, 30))
    out = write_consumer_report(client, "c1", *first_half, "docx", tmp_path / "c.docx")
    reconciled = next(t for t in Document(out).tables if t.rows[0].cells[-2].text == "同期网关记录")
    rows = [[c.text for c in row.cells] for row in reconciled.rows[1:]]
    assert rows[0][1] == "2025年1月1日至2025年3月31日" and rows[0][4:] == ["日志未覆盖", "—"]
    assert rows[1][4:] == ["140 次", "-20 次"]
    text = "\n".join(p.text for p in Document(out).paragraphs)
    assert "网关日志记录期为2025年6月2日至" in text
