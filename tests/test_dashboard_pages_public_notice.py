"""The public notice page (dashboard/pages/public_notice.py), open without sign-in: only publicized
records, companies named with their credit code, natural persons not, no address; in both languages.
"""

from __future__ import annotations

from datetime import datetime

from page_apps import page_app

from odwatch.clock import SHANGHAI


def _publicized_violation(client) -> None:
    client.insert("consumers", [["C1", "上海某某数据科技有限公司", "company", "91310000MA1FL4XQ3X"],
                                ["C2", "张三丰", "person", ""]],
                  column_names=["consumer_id", "name", "kind", "credit_code"])
    at = datetime(2026, 11, 2, 10, tzinfo=SHANGHAI)
    client.insert("violations", [
        ["V1", "C1", "K1", "D1", "A01", 2, "scraping 10.1.2.3", ["al1"], at, "sam", "high", 1],
        ["V2", "C2", "K2", "D2", "A02", 4, "scenario", ["al2"], at, "sam", "medium", 1],
        ["V3", "C2", "K2", "D2", "A02", 1, "not public", ["al3"], at, "sam", "low", 0],
    ], column_names=["violation_id", "consumer_id", "key_id", "dataset_id", "agency_id", "category",
                     "description", "alert_ids", "recorded_at", "recorded_by", "severity", "publicized"])
    client.insert("measures", [["M1", "V1", "C1", "K1", "restrict", at,
                                datetime(2026, 12, 2, tzinfo=SHANGHAI), "sam", "scraping"]],
                  column_names=["measure_id", "violation_id", "consumer_id", "key_id", "action", "starts_at",
                                "ends_at", "decided_by", "reason"])


def test_public_notice_page_shows_only_publicized_records_without_sign_in(app_client):
    _publicized_violation(app_client)
    at = page_app("public_notice").run()
    assert not at.exception
    assert at.metric[0].value == "2"
    shown = at.dataframe[0].value
    subjects = set(shown["主体"])
    assert "上海某某数据科技有限公司" in subjects and "张三丰" not in subjects
    assert "91310000MA1FL4XQ3X" in set(shown["统一社会信用代码"])
    assert "10.1.2.3" not in shown.to_csv()
    assert set(shown["处理措施"]) == {"限制数据获取权限", "记录在案"}
    english = page_app("public_notice")
    english.session_state["lang"] = "en"
    english.run()
    assert not english.exception
    frame = english.dataframe[0].value
    assert set(frame["Measure"]) == {"Access restricted", "Recorded"}
    assert "(二) Obtaining public data by unlawful means" in set(frame["Violation"])
    assert "2026-11-02" in set(frame["Recorded on"])
