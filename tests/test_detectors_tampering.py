"""Tampering: calls breaking an endpoint's learned parameter profile (unknown names, other shapes,
unusual lengths); the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import RECORDS, at, event, insert, lawful_searches, whole_days

from detectors.messages import alert_title
from detectors.tampering import TamperingDetector
from odwatch.clock import SHANGHAI

DAY = date(2026, 3, 10)
SEEN = datetime(2026, 3, 10, 3, tzinfo=SHANGHAI)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def broken(rule: str, calls: int = 1, params: str = '{"page":"1 or true"}', name: str = "page") -> dict:
    return {
        "consumer_id": "",
        "anon_ip": "203.0.113.5",
        "day": DAY,
        "template": "/api/v1/datasets/{dataset}/records",
        "params": params,
        "calls": calls,
        "ips": ["203.0.113.5"],
        "first_seen": SEEN,
        "last_seen": SEEN,
        "name": name,
        "shape": "text",
        "len": 11,
        "name_calls": 5000,
        "usual_len": 1.0,
        "shape_calls": 0,
        "broken_rule": rule,
    }


def test_tampering_counts_broken_calls_once_per_call_whatever_the_rules_it_breaks():
    detector = TamperingDetector()
    assert detector.score(pl.DataFrame([broken("shape")])) == []  # one call: below min_calls
    # One call breaking two rules is one call; a second call makes two.
    frame = pl.DataFrame(
        [
            broken("shape"),
            broken("unknown_parameter", name="debug"),
            broken("shape", params='{"page":"2 or true"}'),
        ]
    )
    [alert] = detector.score(frame)
    assert alert.evidence["calls"] == 2 and alert.severity == "low"
    assert {(r["parameter"], r["rule"]) for r in alert.evidence["broken_rules"]} == {
        ("page", "shape"),
        ("debug", "unknown_parameter"),
    }
    assert alert_title(alert.as_row(), "zh").startswith("匿名地址 203.0.113.5篡改接口参数 2 次")


def test_an_endpoints_established_names_and_shapes_need_calls_and_senders():
    def shape(name, kind, calls, senders, length=2):
        return {"template": "/e", "name": name, "value": "", "shape": kind, "shape_calls": calls,
                "shape_senders": list(range(senders)), "usual_len": length}

    profile = pl.DataFrame([shape("page", "integer", 9_000, 3), shape("page", "text", 5, 3),
                            shape("q", "text", 1_000, 3, 12), shape("debug", "token", 2_000, 1),
                            shape("page", "integer", 100, 3) | {"template": "/quiet"}])
    established = TamperingDetector().established(profile)
    assert established["templates"] == ["/e"]                    # /quiet has too few calls for a profile
    assert established["names"] == [("/e", "page"), ("/e", "q")]   # debug: one sender, however many calls
    assert established["shapes"] == [("/e", "page", "integer"), ("/e", "q", "text")]   # 5 in 9,005: rare
    assert dict(zip(established["length_keys"], established["usual_lengths"], strict=True)) == {
        "/e page": 2.0, "/e q": 12.0}


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def test_calls_breaking_the_endpoints_parameter_profile_are_tampering(client):
    insert(client, lawful_searches(DAY))
    tampered = [{"page": "1 OR true"}, {"page": 2, "debug": "true"}, {"page": 3, "q": "浦东新区" * 80},
                {"q": "浦东新区", "page": "-1 order"}]
    insert(client, [event(at(DAY, 20, n), "", "d1", client_ip="203.0.113.5", endpoint=RECORDS, params=p)
                    for n, p in enumerate(tampered)])
    [alert] = TamperingDetector().run(client, whole_days(DAY, DAY, TamperingDetector.lookback))
    assert alert.client_ip == "203.0.113.5" and alert.evidence["calls"] == 4
    rules = {(r["parameter"], r["rule"]) for r in alert.evidence["broken_rules"]}
    assert rules == {("page", "shape"), ("debug", "unknown_parameter"), ("q", "length")}
    assert alert.evidence["broken_rules"][0]["endpoint"] == "/api/v1/datasets/{dataset}/records"


def test_an_endpoint_without_enough_history_has_no_profile(client):
    insert(client, lawful_searches(DAY, 1))
    insert(client, [event(at(DAY, 20, n), "", "d1", client_ip="203.0.113.5", endpoint=RECORDS,
                          params={"debug": "true"}) for n in range(5)])
    assert TamperingDetector().run(client, whole_days(DAY, DAY, TamperingDetector.lookback)) == []
