"""The monthly platform-operation report of the demo platform in each format, read back: a 公文 on the
annual report's machinery (A4, every font embedded, 一、二、 headings, 落款), the month beside the one
before, figures that agree with the access log, and no code name or English enum word in its text."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta

import openpyxl
import pytest
from conftest import fresh_database
from docx import Document
from exported_text import code_words, pdf_text, text_of
from pypdf import PdfReader

from demo.platform import build_demo
from detectors.runner import run_detectors
from odwatch import clock
from odwatch.errors import UserError
from reports.export.operation import (
    MonthFigures,
    OperationReport,
    change_text,
    key_rows,
    operation_document,
    operation_report,
    parse_month,
    write_operation_report,
)

MONTH_TRAFFIC = """
SELECT count(), countIf(status >= 500) FROM access_log
WHERE toDate(ts, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
"""


def last_month() -> str:
    first = clock.today().replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    settings, client = fresh_database("t_operation")
    build_demo(client, settings, scale="small")
    run_detectors(client, settings)
    out = tmp_path_factory.mktemp("operation")
    files = {fmt: write_operation_report(client, settings, last_month(), fmt, out / f"operation.{fmt}")
             for fmt in ("pdf", "docx", "xlsx")}
    return client, settings, files


@pytest.mark.parametrize("fmt", ["pdf", "docx", "xlsx"])
def test_no_code_name_or_enum_word_in_the_text(demo, fmt):
    _, _, files = demo
    text = text_of(files[fmt], fmt)
    assert len(text) > 800
    assert code_words(text) == []


def test_the_pdf_is_an_official_document_comparing_two_months(demo):
    _, _, files = demo
    reader = PdfReader(files["pdf"])
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)
    text = pdf_text(files["pdf"]).replace("\n", "")
    first, _ = parse_month(last_month())
    before = first - timedelta(days=1)
    assert f"{first.year}年{first.month}月公共数据开放平台运行情况报告" in text
    assert f"与{before.year}年{before.month}月比较" in text
    for heading in ("一、总体情况", "二、运行质量", "三、数据利用", "四、安全监测与违规处置",
                    "（一）分渠道错误率与响应时间"):
        assert heading in text
    assert "第三十七条" in text and "上海市大数据中心" in text and "— 1 —" in text
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", str(files["pdf"])], capture_output=True, text=True,
                                 check=True).stdout.splitlines()[2:]
        assert listing and all(line.split()[-5] == "yes" for line in listing), listing


def test_the_docx_has_the_same_headings(demo):
    _, _, files = demo
    headings = [p.text for p in Document(files["docx"]).paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、总体情况", "二、运行质量", "三、数据利用", "四、安全监测与违规处置"]


def test_the_figures_agree_with_the_access_log(demo):
    client, _, files = demo
    first, last = parse_month(last_month())
    params = {"first": first, "last": last}
    calls, server_errors = client.query(MONTH_TRAFFIC, parameters=params).result_rows[0]
    report = operation_report(client, last_month())
    assert report.current.calls == calls > 0
    assert report.current.availability == pytest.approx(1 - server_errors / calls)
    assert report.previous.first == (first - timedelta(days=1)).replace(day=1)
    assert sum(r["calls"] for r in report.current.channels) == calls
    assert 0 < report.current.latency[0] <= report.current.latency[1] <= report.current.latency[2]
    workbook = openpyxl.load_workbook(files["xlsx"])
    assert workbook.sheetnames == ["说明", "关键指标", "分渠道", "调用量居前的数据集", "违法违规记录"]
    figures = {row[0]: row[1:] for row in workbook["关键指标"].iter_rows(min_row=2, values_only=True)}
    assert figures["调用总量（次）"][0] == f"{calls:,}"
    channels = list(workbook["分渠道"].iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in channels} <= {"接口调用", "文件下载"} and isinstance(channels[0][1], int)


def test_changes_are_worded_as_an_official_reads_them():
    assert change_text(120, 100, unit="次") == "增加 20次（20.0%）"
    assert change_text(0.995, 0.999, share=True) == "下降 0.40 个百分点"
    assert change_text(5, 5) == "持平" and change_text(None, 3) == "不可比"
    assert change_text(3, 0, unit="起") == "增加 3起（上月为零）"


def test_bad_months_and_formats_are_sentences(client, settings, tmp_path):
    with pytest.raises(UserError, match="2026-11"):
        parse_month("2026-13")
    with pytest.raises(UserError, match="Unknown format"):
        write_operation_report(client, settings, "2026-11", "odt", tmp_path / "r.odt")


def test_a_month_to_come_or_before_2000_is_refused(client, settings, tmp_path):
    today = date(2026, 12, 5)
    for month in ("2027-01", "1990-01"):
        with pytest.raises(UserError, match=month):
            operation_report(client, month, today)
        with pytest.raises(UserError, match=month):
            write_operation_report(client, settings, month, "pdf", tmp_path / "r.pdf", today)


def test_the_current_month_is_read_up_to_today_and_says_so(client, settings):
    report = operation_report(client, "2026-12", date(2026, 12, 5))
    assert report.current.last == date(2026, 12, 5) and not report.current.whole_month
    assert report.previous.whole_month and report.previous.last == date(2026, 11, 30)
    texts = [block.text for block in operation_document(report, settings).blocks if hasattr(block, "text")]
    assert "（本月数据截至2026年12月5日，与2026年11月全月比较）" in texts
    assert any(text.startswith("2026年12月（截至2026年12月5日），开放平台共受理调用") for text in texts)
    whole = operation_report(client, "2026-11", date(2026, 12, 5))
    assert whole.current.whole_month and whole.current.period == "2026年11月"


def test_a_month_without_calls_has_no_response_time_rather_than_zero(client, settings, tmp_path):
    today = date(2026, 12, 5)
    report = operation_report(client, "2026-10", today)       # an empty platform
    assert report.current.calls == 0 and report.current.latency == [None, None, None]
    rows = {row[0]: row[1:] for row in key_rows(report)}
    assert rows["响应时间中位数（毫秒）"] == [None, None, "不可比"]
    texts = [block.text for block in operation_document(report, settings).blocks if hasattr(block, "text")]
    assert any("本月无调用记录，响应时间无从计算。" in text for text in texts)
    assert not any("0.0 毫秒" in text for text in texts)
    for fmt in ("pdf", "docx"):
        written = write_operation_report(client, settings, "2026-10", fmt, tmp_path / f"r.{fmt}", today)
        assert written.stat().st_size > 0
    workbook = openpyxl.load_workbook(write_operation_report(client, settings, "2026-10", "xlsx",
                                                             tmp_path / "r.xlsx", today))
    figures = {row[0]: row[1:] for row in workbook["关键指标"].iter_rows(min_row=2, values_only=True)}
    assert figures["响应时间中位数（毫秒）"] == ("—", "—", "不可比")


def test_measures_are_counted_in_items():
    november = MonthFigures(date(2026, 11, 1), date(2026, 11, 30), in_force={"restricted": 1, "closed": 0})
    october = MonthFigures(date(2026, 10, 1), date(2026, 10, 31), in_force={"restricted": 2, "closed": 1})
    row = key_rows(OperationReport("2026-11", november, october))[-1]
    assert row == ["月末在执行的限制、关闭措施（项）", 1, 3, "减少 2项（66.7%）"]


def test_measures_in_force_at_a_months_end_are_read_as_they_were(client):
    from datetime import datetime

    from detectors import violations
    from odwatch.clock import SHANGHAI
    from reports.export.operation import month_figures

    client.insert("consumers", [["c1", "某公司", "company"]], column_names=["consumer_id", "name", "kind"])
    violation = violations.record_violation(client, consumer_id="c1", category=1, actor="sam")
    violations.add_measure(client, violation, "restrict", "sam", days=30,
                           starts_at=datetime(2026, 10, 10, tzinfo=SHANGHAI))          # ends 9 November
    violations.add_measure(client, violation, "close", "sam",
                           starts_at=datetime(2026, 11, 20, tzinfo=SHANGHAI))
    october = month_figures(client, *parse_month("2026-10"))
    november = month_figures(client, *parse_month("2026-11"))
    assert october.in_force == {"restricted": 1, "closed": 0}
    assert november.in_force == {"restricted": 0, "closed": 1}
    assert (october.new_measures, november.new_measures) == ({"restrict": 1, "close": 0},
                                                             {"restrict": 0, "close": 1})
