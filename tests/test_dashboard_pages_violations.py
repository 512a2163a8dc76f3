"""The violations page (dashboard/pages/violations.py) on the hand-built platform
(tests/pages_platform.py): the registry in each role's scope, publicity and a measure decided on the page,
and a violation recorded from a public report (举报) with an evidence file, the reporter's contact masked
for an official."""

from __future__ import annotations

import pytest
from page_apps import frames
from pages_platform import VIOLATIONS, run_page

from detectors import violations
from detectors.violations import list_violations

PDF = b"%PDF-1.4\n% a screenshot of the marketing message\n"


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_violations_page_registry_is_scoped(hand_built_pages, role):
    app = run_page("violations", role)
    registry = next(f for f in frames(app) if "记录编号" in f.columns)
    ids = set(registry["记录编号"])
    assert VIOLATIONS["company"] in ids
    assert (VIOLATIONS["person"] in ids) is (role != "agency")
    assert "甲数据公司" in set(registry["数据利用主体"])          # organisations are named in full
    deciding = role in ("security", "admin")
    assert any(t.label == "在公示页面公开" for t in app.toggle) is deciding


def test_violations_page_publicity_and_measure(hand_built_pages):
    person = VIOLATIONS["person"]
    app = run_page("violations", "security")
    app.selectbox(key="violations_record").set_value(person).run()
    app.toggle(key=f"violations_public_{person}").set_value(True).run()
    assert not app.exception
    assert "已设为公示。" in [s.value for s in app.success]
    app.number_input(key="violations_measure_days").set_value(30)
    app.radio(key="violations_measure_action").set_value("close")
    app.button(key="FormSubmitter:violations_measure-记录措施").click().run()
    assert not app.exception
    record = {v["violation_id"]: v for v in list_violations(hand_built_pages)}[person]
    assert record["publicized"] == 1
    assert [(m["action"], m["decided_by"]) for m in record["measures"]] == [("close", "sam")]
    ends, starts = record["measures"][0]["ends_at"], record["measures"][0]["starts_at"]
    assert (ends - starts).days == 30
    registry = next(f for f in frames(app) if "记录编号" in f.columns)
    row = registry[registry["记录编号"] == person].iloc[0]
    assert bool(row["已公示"]) and row["措施"].startswith("关闭数据获取权限")


def test_security_records_a_report_with_evidence_and_an_official_sees_the_contact_masked(hand_built_pages):
    app = run_page("violations", "security", timeout=120)
    app.radio(key="vrec_source").set_value("report")
    app.selectbox(key="vrec_consumer").set_value("c1")
    app.selectbox(key="vrec_dataset").set_value("d1")
    app.selectbox(key="vrec_category").set_value(4)
    app.text_input(key="vrec_reporter").input("李四")
    app.text_input(key="vrec_contact").input("13812345678")
    app.text_input(key="vrec_ref").input("JB-2026-017")
    app.text_area(key="vrec_description").input("利用公交线路数据向乘客推送营销短信")
    app.file_uploader(key="vrec_files").upload("短信截图.pdf", PDF, "application/pdf")
    app.button(key="FormSubmitter:violations_record_form-登记").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert [s.value for s in app.success if "已登记违规记录" in s.value], [w.value for w in app.warning]
    [recorded] = violations.list_violations(hand_built_pages, source="report")
    assert (recorded["consumer_id"], recorded["reporter_contact"]) == ("c1", "13812345678")
    assert recorded["attachments"] == 1
    registry = next(f.value for f in app.dataframe if "记录编号" in f.value.columns)
    row = registry[registry["记录编号"] == recorded["violation_id"]].iloc[0]
    assert (row["来源"], row["证据材料"]) == ("举报", 1)
    # Security staff open the record: the reporter in full and the evidence to download.
    app.selectbox(key="violations_record").set_value(recorded["violation_id"]).run()
    assert any("13812345678" in m.value for m in app.markdown)
    assert any(b.label == "下载 短信截图.pdf" for b in app.get("download_button"))
    # A wrong file is refused in a sentence, and nothing is recorded.
    app.radio(key="vrec_source").set_value("complaint")
    app.text_area(key="vrec_description").input("投诉")
    app.file_uploader(key="vrec_files").upload("伪装.pdf", b"MZ\x90\x00", "application/pdf")
    app.button(key="FormSubmitter:violations_record_form-登记").click().run()
    assert any("not of an accepted type" in w.value for w in app.warning)
    assert violations.list_violations(hand_built_pages, source="complaint") == []
