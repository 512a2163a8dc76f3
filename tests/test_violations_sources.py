"""Violations from any source: a public report (举报) with its reporter's contact and evidence files,
a complaint, an inspection; evidence checked by content, size and extension before anything is written;
and the offender history per consumer and per 统一社会信用代码, with the repeat-offence proposal."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

import pytest

from detectors import store, triage, violations
from detectors.base import Alert
from detectors.violations import Evidence
from odwatch import codes
from odwatch.clock import SHANGHAI, now
from odwatch.errors import UserError
from odwatch.settings import RepeatOffenceSettings

PDF = b"%PDF-1.4\n% evidence\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MAX = 1024 * 1024
CODE = "91310000MA1FL0BQ37"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.fixture
def people(client):
    assert codes.is_valid(CODE)
    client.insert("agencies", [["a1", "市交通委", "", "city_bureau"], ["a2", "市卫健委", "", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["d1", "a1", "公交线路"], ["d2", "a2", "医院名录"]],
                  column_names=["dataset_id", "agency_id", "name"])
    client.insert("consumers", [["c1", "上海某某科技有限公司", "company", CODE],
                                ["c1b", "上海某某科技有限公司（二号账户）", "company", CODE],
                                ["c2", "欧阳小明", "person", ""]],
                  column_names=["consumer_id", "name", "kind", "credit_code"])
    client.insert("api_keys", [["k1", "c1", "active"], ["k2", "c1b", "active"]],
                  column_names=["key_id", "consumer_id", "status"])
    return client


def report(client, settings, **changes) -> str:
    arguments = dict(source="report", category=4, actor="sam", description="使用数据做营销推送",
                     data_dir=settings.data_dir, max_bytes=MAX, consumer_id="c1", dataset_id="d1",
                     reporter_name="李四", reporter_contact="13812345678", source_ref="JB-2026-001",
                     evidence=[Evidence("截图.png", PNG), Evidence("说明.pdf", PDF)])
    return violations.record_from_source(client, **{**arguments, **changes})


def test_a_report_keeps_the_reporter_and_its_evidence_checksummed(people, settings):
    violation_id = report(people, settings)
    [row] = [v for v in violations.list_violations(people) if v["violation_id"] == violation_id]
    assert (row["source"], row["source_ref"], row["agency_id"]) == ("report", "JB-2026-001", "a1")
    assert (row["reporter_name"], row["reporter_contact"], row["attachments"]) == ("李四", "13812345678", 2)
    files = violations.attachments(people, violation_id)
    assert [(f["file_name"], f["media_type"], f["size"]) for f in files] == [
        ("截图.png", "image/png", len(PNG)), ("说明.pdf", "application/pdf", len(PDF))]
    assert violations.read_attachment(settings.data_dir, files[1]) == PDF
    assert (settings.data_dir / files[1]["stored_path"]).is_relative_to(settings.data_dir / "evidence")
    # The audit trail records the report, the files and the measure, with the contact masked.
    entries = people.query("SELECT action, detail FROM audit_log WHERE object_id = {v:String} ORDER BY seq",
                           parameters={"v": violation_id}).result_rows
    assert [a for a, _ in entries] == ["violation.record", "violation.attachment", "violation.attachment"]
    assert "138****5678" in entries[0][1] and "13812345678" not in entries[0][1]


def test_a_changed_evidence_file_no_longer_reads(people, settings):
    violation_id = report(people, settings)
    stored = violations.attachments(people, violation_id)[0]
    (settings.data_dir / stored["stored_path"]).write_bytes(PNG + b"edited")
    with pytest.raises(UserError, match="checksum no longer matches"):
        violations.read_attachment(settings.data_dir, stored)


@pytest.mark.parametrize(("evidence", "message"), [
    (Evidence("程序.pdf", b"MZ\x90\x00 an executable"), "not of an accepted type"),
    (Evidence("照片.pdf", PNG), "rename it to .png"),
    (Evidence("大文件.pdf", PDF + b"x" * MAX), "MB are accepted"),
    (Evidence("空.txt", b""), "is empty"),
    (Evidence("伪装.docx", b"PK\x03\x04not really a zip"), "not of an accepted type"),
])
def test_bad_evidence_is_refused_and_nothing_is_written(people, settings, tmp_path, evidence, message):
    with pytest.raises(UserError, match=message):
        report(people, settings, evidence=[Evidence("ok.pdf", PDF), evidence], data_dir=tmp_path)
    assert violations.list_violations(people) == []
    assert list(tmp_path.iterdir()) == []


def test_office_and_text_evidence_are_told_by_their_content():
    assert violations.evidence_type(docx_bytes()) == \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert violations.evidence_type("举报内容：多次抓取".encode()) == "text/plain"
    assert violations.evidence_type(b"\x00\x01binary") is None


def test_complaints_and_inspections_link_alerts_and_take_measures(people, settings):
    start = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    alert = Alert(detector_id="scraping", category="scraping", article="第三十条", severity="high", score=3,
                  message="alerts.scraping", window_start=start, window_end=start + timedelta(days=1),
                  consumer_id="c2", dataset_id="d2")
    store.save_alerts(people, [alert])
    complaint = violations.record_from_source(
        people, source="complaint", category=3, actor="sam", description="泄露患者信息",
        data_dir=settings.data_dir, max_bytes=MAX, consumer_id="c2", dataset_id="d2",
        alert_ids=[alert.alert_id], measure="restrict", measure_days=30)
    [row] = violations.list_violations(people, source="complaint")
    assert row["violation_id"] == complaint and row["alert_ids"] == [alert.alert_id]
    assert [m["action"] for m in row["measures"]] == ["restrict"]
    with pytest.raises(UserError, match="No alert with id nope"):
        violations.record_from_source(people, source="inspection", category=1, actor="sam",
                                      description="检查", data_dir=settings.data_dir, max_bytes=MAX,
                                      consumer_id="c2", alert_ids=["nope"])
    with pytest.raises(UserError, match="Unknown source"):
        violations.record_from_source(people, source="alert", category=1, actor="sam", description="x",
                                      data_dir=settings.data_dir, max_bytes=MAX, consumer_id="c2")


def test_a_companys_accounts_are_one_offender_across_agencies(people, settings):
    steps = RepeatOffenceSettings().steps
    assert violations.offender_history(people, consumer_id="c1", steps=steps).recent == 0
    report(people, settings, evidence=[])                                              # c1, a1
    violations.record_violation(people, consumer_id="c1b", category=2, actor="sam", dataset_id="d2",
                                agency_id="a2", description="批量抓取")     # its other account, a2
    history = violations.offender_history(people, consumer_id="c1b", steps=steps)
    assert history.credit_code == CODE and sorted(history.consumer_ids) == ["c1", "c1b"]
    assert history.recent == 2 and history.next_ordinal == 3
    assert history.agencies == ["市交通委", "市卫健委"]
    assert history.proposal == {"measure": "close", "days": None, "ordinal": 3, "step": 3}
    by_code = violations.offender_history(people, credit_code=CODE, steps=steps)
    assert by_code.recent == 2
    # A year later the window has passed: the next violation is the first again.
    later = violations.offender_history(people, consumer_id="c1", steps=steps, at=now() + timedelta(days=400))
    assert later.recent == 0 and later.proposal is None and len(later.violations) == 2


def test_alert_verdicts_count_in_the_history(people, settings):
    start = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    alerts = [Alert(detector_id="burst", category="burst", article="第三十条", severity="high", score=3,
                    message="alerts.burst", window_start=start + timedelta(days=n),
                    window_end=start + timedelta(days=n + 1), consumer_id="c1", dataset_id="d1")
              for n in range(3)]
    store.save_alerts(people, alerts)
    ids = [a.alert_id for a in alerts]
    triage.acknowledge(people, ids, "sam")
    triage.dismiss(people, ids[:1], "测试流量", "sam")
    triage.confirm(people, ids[1:], "sam", 1, "restrict", 30)
    history = violations.offender_history(people, consumer_id="c1b", steps=RepeatOffenceSettings().steps)
    assert (history.confirmed_alerts, history.dismissed_alerts, history.recent) == (2, 1, 1)
    assert history.strongest_recent_measure == "restrict"
    assert history.proposal["measure"] == "close"         # the second violation, but a restriction stood


def test_the_repeat_rule_proposes_at_least_one_step_stronger():
    steps = RepeatOffenceSettings().steps
    assert violations.propose_measure(1, "none", steps) is None
    assert violations.propose_measure(2, "none", steps) == {"measure": "restrict", "days": 90, "ordinal": 2,
                                                           "step": 2}
    assert violations.propose_measure(2, "restrict", steps)["measure"] == "close"
    assert violations.propose_measure(5, "close", steps)["measure"] == "close"


def test_contacts_addresses_and_keys_are_masked():
    assert violations.mask_contact("13812345678") == "138****5678"
    assert violations.mask_contact("zhang.san@example.com") == "z***@example.com"
    assert violations.mask_ip("203.0.113.9") == "203.0.*.*"
    assert violations.mask_ip("2001:db8:1:2::1") == "2001:db8:1::*"
    assert violations.mask_key("key-12345") == "key-****"
