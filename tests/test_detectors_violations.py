"""Violations (detectors/violations.py, the one home of their rules, writes and reads): the read side
(records with their measures by Shanghai year, the gateway's enforcement list, the public notice); measures
with a period (第三十一条), whose keys are set back when they end and which the gateway list drops at
once; and violations from any source (a public report (举报) with its reporter's contact and evidence
files, a complaint, an inspection), evidence checked by content, size and extension before anything is
written, and the offender history per consumer and per 统一社会信用代码 with the repeat-offence
proposal."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime, timedelta

import pytest
from typer.testing import CliRunner
from violation_records import add_violation_records

from detectors import store, triage, violations
from detectors.base import Alert
from detectors.violations import Evidence, enforcement_list, list_violations, mask_person_name, public_notice
from odwatch import codes
from odwatch.cli import app
from odwatch.clock import SHANGHAI, now
from odwatch.errors import UserError
from odwatch.settings import RepeatOffenceSettings
from warehouse import audit

# ---- The read side: records, the gateway list, the public notice -------------------------------------------

def test_list_violations_by_year_in_shanghai_time_with_measures(client):
    add_violation_records(client)
    ids_2025 = [v["violation_id"] for v in list_violations(client, year=2025)]
    assert ids_2025 == ["v2"]            # 23:30 Shanghai on 31 December is still 2025
    v1 = next(v for v in list_violations(client) if v["violation_id"] == "v1")
    assert v1["measures"][0]["action"] == "restrict" and v1["article"] == "第三十一条(四)"
    assert v1["recorded_at"].hour == 10 and not v1["major"]
    assert [v["violation_id"] for v in list_violations(client, category=1)] == ["v3"]


def test_enforcement_list_holds_restricted_and_closed_keys_with_their_period(client):
    add_violation_records(client)
    listing = {row["key_id"]: row for row in enforcement_list(client)}
    assert set(listing) == {"k1", "k3"}
    assert listing["k1"]["status"] == "restricted" and listing["k1"]["ends_at"].date() == date(2026, 12, 31)
    # A consumer-wide measure (no key named) covers the consumer's key.
    assert listing["k3"]["status"] == "closed" and listing["k3"]["ends_at"] is None
    assert listing["k3"]["violation_id"] == "v2"


def test_public_notice_names_companies_masks_persons_and_leaks_nothing(client):
    add_violation_records(client)
    notice = {row["notice_id"]: row for row in public_notice(client)}
    assert set(notice) == {"v1", "v2"}
    assert notice["v1"]["subject"] == "上海某某科技有限公司"
    assert notice["v1"]["credit_code"] == "91310000MA1FL0BQ3X"
    assert notice["v2"]["subject"] == "欧***" and notice["v2"]["credit_code"] == ""
    assert notice["v2"]["measure"] == "关闭数据获取权限" and notice["v2"]["measure_until"] is None
    text = repr(list(notice.values()))
    assert "10.1.2.3" not in text and "k1" not in text and "欧阳小明" not in text


def test_mask_person_name():
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("") == "个人"


# ---- Measures with a period end ----------------------------------------------------------------------------

CREATED = datetime(2024, 1, 1, tzinfo=SHANGHAI)


@pytest.fixture
def keys(client):
    """C1 holds two keys, C2 one; all active."""
    client.insert("api_keys", [["K1", "C1"], ["K1b", "C1"], ["K2", "C2"]],
                  column_names=["key_id", "consumer_id"])
    return client


def statuses(client) -> dict[str, str]:
    return dict(client.query("SELECT key_id, toString(status) FROM api_keys FINAL").result_rows)


def violation(client, consumer_id="C1", key_id="") -> str:
    return violations.record_violation(client, consumer_id=consumer_id, key_id=key_id, category=4,
                                             actor="sam", dataset_id="D1", description="off-agreement use")


def store_keys(client, *rows: tuple[str, str, str, str]) -> None:
    """Keys written earlier, created on 2024-01-01: (key_id, consumer_id, status, updated_at);
    times are midnight in Shanghai unless given."""
    client.insert("api_keys", [[key, consumer, CREATED, status, at(updated)]
                               for key, consumer, status, updated in rows],
                  column_names=["key_id", "consumer_id", "created_at", "status", "updated_at"])


def store_measures(client, *rows: tuple[str, str, str, str, str, str, str | None]) -> None:
    """Measures written earlier: (measure_id, violation_id, consumer, key, action, starts, ends)."""
    client.insert("measures", [[m, v, c, k, action, at(starts), at(ends) if ends else None, "s", ""]
                               for m, v, c, k, action, starts, ends in rows],
                  column_names=["measure_id", "violation_id", "consumer_id", "key_id", "action", "starts_at",
                                "ends_at", "decided_by", "reason"])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def lift_after(client, days: float, actor: str = "system") -> list[str]:
    """Lift as if `days` from now."""
    return violations.lift_expired_measures(client, at=now() + timedelta(days=days), actor=actor)


def test_a_seven_day_restriction_lifts_after_its_end_and_not_before(keys):
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    assert statuses(keys) == {"K1": "restricted", "K1b": "restricted", "K2": "active"}
    assert lift_after(keys, 6.95) == []
    assert statuses(keys)["K1"] == "restricted"
    assert lift_after(keys, 7.05) == ["K1", "K1b"]
    assert statuses(keys) == {"K1": "active", "K1b": "active", "K2": "active"}
    # A second run finds nothing left to lift.
    assert lift_after(keys, 8) == []


def test_a_consumer_wide_close_outlives_a_key_restriction(keys):
    violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=7)
    violations.add_measure(keys, violation(keys), "close", "sam", days=30)
    assert statuses(keys)["K1"] == "closed"
    assert lift_after(keys, 8) == []
    assert statuses(keys) == {"K1": "closed", "K1b": "closed", "K2": "active"}
    assert lift_after(keys, 31) == ["K1", "K1b"]
    assert statuses(keys)["K1"] == "active"


def test_a_short_close_inside_a_long_restriction_ends_as_restricted(keys):
    violations.add_measure(keys, violation(keys), "close", "sam", days=7)
    # A later restriction does not reopen the closed keys.
    violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=30)
    assert statuses(keys)["K1"] == "closed"
    assert lift_after(keys, 8) == ["K1", "K1b"]
    assert statuses(keys) == {"K1": "restricted", "K1b": "restricted", "K2": "active"}
    assert lift_after(keys, 31) == ["K1", "K1b"]
    assert statuses(keys)["K1b"] == "active"


def test_an_open_ended_measure_never_lifts(keys):
    violations.add_measure(keys, violation(keys, consumer_id="C2"), "close", "sam")
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    assert lift_after(keys, 3650) == ["K1", "K1b"]
    assert statuses(keys)["K2"] == "closed"
    assert [row["key_id"] for row in enforcement_list(keys, at=now() + timedelta(days=3650))] == ["K2"]


def test_the_audit_trail_records_each_lift_with_the_measures_that_ended(keys):
    first = violations.add_measure(keys, violation(keys), "restrict", "sam", days=7)
    second = violations.add_measure(keys, violation(keys, key_id="K1"), "restrict", "sam", days=10)
    lift_after(keys, 11, actor="scheduler")
    rows = keys.query("SELECT actor, object_type, object_id, detail FROM audit_log "
                      "WHERE action = 'measure.expired' ORDER BY object_id").result_rows
    assert [(actor, kind, key) for actor, kind, key, _ in rows] == [("scheduler", "api_key", "K1"),
                                                                   ("scheduler", "api_key", "K1b")]
    detail = json.loads(rows[0][3])
    assert sorted(detail["measures"]) == sorted([first, second])
    assert (detail["from"], detail["to"], detail["consumer_id"]) == ("restricted", "active", "C1")
    assert audit.verify(keys)[1] == []


def test_keys_restricted_without_a_standing_measure_of_ours_are_left_alone(keys):
    store_keys(keys, ("K_HAND", "C3", "restricted", "2026-01-01"),
               ("K_AFTER", "C4", "closed", "2026-06-01"))
    # K_AFTER's measure ended in February; the key was closed again in June, not by it.
    store_measures(keys, ("m_old", "v_old", "C4", "", "restrict", "2026-01-01", "2026-02-01"))
    assert violations.lift_expired_measures(keys) == []
    assert statuses(keys)["K_HAND"] == "restricted" and statuses(keys)["K_AFTER"] == "closed"
    listed = {row["key_id"]: row for row in enforcement_list(keys)}
    assert set(listed) == {"K_HAND", "K_AFTER"} and listed["K_AFTER"]["measure_id"] == ""


def test_a_measure_recorded_after_its_period_restricts_nothing(keys):
    violations.add_measure(keys, violation(keys), "restrict", "sam", days=7,
                                 starts_at=now() - timedelta(days=30))
    assert set(statuses(keys).values()) == {"active"}


def test_the_gateway_list_drops_an_ended_measures_keys_before_the_lifting_runs(keys):
    # Written in January by a measure that ended on 1 February; nothing has lifted them yet.
    store_keys(keys, ("K5", "C5", "restricted", "2026-01-05"),
               ("K5b", "C5", "closed", "2026-01-05"))
    store_measures(keys, ("m_key", "v1", "C5", "K5", "restrict", "2026-01-05", "2026-02-01"),
                   ("m_close", "v2", "", "K5b", "close", "2026-01-05", "2026-02-01"),
                   ("m_long", "v3", "", "K5b", "restrict", "2026-01-05", None))
    listed = {row["key_id"]: row for row in enforcement_list(keys)}
    assert set(listed) == {"K5b"}
    # The close ended, the open-ended restriction stands: the gateway restricts, no longer refuses.
    assert listed["K5b"]["status"] == "restricted" and listed["K5b"]["measure_id"] == "m_long"
    assert statuses(keys)["K5"] == "restricted"                # stored status not yet lifted
    # A measure written now is listed now and gone once its period is over.
    violations.add_measure(keys, violation(keys, consumer_id="C2"), "close", "sam", days=7)
    assert "K2" in {row["key_id"] for row in enforcement_list(keys)}
    assert "K2" not in {row["key_id"] for row in enforcement_list(keys, at=now() + timedelta(days=8))}


def test_the_serve_detector_job_lifts_before_it_detects(keys, settings):
    from dashboard.jobs import detect_job

    store_keys(keys, ("K5", "C5", "restricted", "2026-01-05"),
               ("K5b", "C5", "restricted", "2026-01-05"))
    store_measures(keys, ("m1", "v1", "C5", "", "restrict", "2026-01-05", "2026-01-12"))
    result = detect_job(settings, {})
    assert result.startswith("alerts=") and result.endswith("keys_lifted=2")
    assert set(statuses(keys).values()) == {"active"} and len(statuses(keys)) == 5


def test_odwatch_detect_reports_the_keys_it_restored(keys, env_client):
    store_keys(keys, ("K6", "C6", "closed", "2026-01-05"))
    store_measures(keys, ("m2", "v2", "C6", "", "close", "2026-01-05", "2026-02-01"))
    result = CliRunner().invoke(app, ["detect"])
    assert result.exit_code == 0, result.output
    assert "1 API key(s) restored" in result.output and "(K6)" in result.output
    assert statuses(keys)["K6"] == "active"
    again = CliRunner().invoke(app, ["detect", "--json"])
    assert json.loads(again.output)["keys_lifted"] == []


# ---- Violations from any source; evidence; the offender history --------------------------------------------

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
