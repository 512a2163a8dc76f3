"""Signatures, injection, scanning and tampering without the engine: values, and score on frames."""

from datetime import date, datetime

import polars as pl
import pytest

from detectors import signatures
from detectors.injection import InjectionDetector
from detectors.messages import alert_title
from detectors.scanning import ScanningDetector, sensitive_phrases
from detectors.tampering import TamperingDetector
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)
SEEN = datetime(2026, 3, 10, 3, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1' OR '1'='1' --", "sqli"),
        ("-1 UNION ALL SELECT NULL,username,password FROM users#", "sqli"),
        ('"><img src=x onerror=alert(document.cookie)>', "xss"),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", "xss"),
        ("....//....//....//etc/passwd", "path_traversal"),
        ("%250d%250aSet-Cookie:admin=true", "crlf"),
        ("127.0.0.1 && cat /etc/shadow", "command_injection"),
        ("{{''.__class__.__mro__[1].__subclasses__()}}", "ssti"),
        ("${T(java.lang.Runtime).getRuntime().exec('id')}", "ssti"),
    ],
)
def test_attacks_of_every_class_are_recognised_decoded(value, expected):
    assert expected in signatures.attack_classes(value)


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        "Xi'an 公交线路",
        "children's hospital",
        "price < 500",
        "温度>30",
        "Tom & Jerry",
        "a<b",
        "Select Committee report",
        "union membership",
        "2024/05/01",
        "浦东新区/张江",
        "C++ training",
        "echo valley park",
        "“一网通办”",
        "人口<100万的镇",
        "1/2 day",
        "e-mail: info@example.com",
    ],
)
def test_search_texts_with_quotes_brackets_and_sql_words_are_clean(value):
    assert signatures.attack_classes(value) == ()


def test_keys_and_nested_values_of_the_parameters_are_inspected():
    assert signatures.param_values('{"q": "x", "filter": {"name": ["a", 1]}}') == [
        "q",
        "x",
        "filter",
        "name",
        "a",
    ]
    assert signatures.inspect_call('{"<script>alert(1)</script>": 1}') == ("xss",)
    assert signatures.inspect_call("not json ' or 1=1 --") == ("sqli",)
    assert signatures.inspect_call('{"page": 2}', "/static/../../../etc/passwd")[0] == "path_traversal"


def attempts(n: int, classes=("sqli",), consumer_id: str = "", ip: str = "203.0.113.9") -> dict:
    return {
        "consumer_id": consumer_id,
        "anon_ip": "" if consumer_id else ip,
        "day": DAY,
        "attempts": n,
        "answered": n,
        "payloads": n,
        "classes": list(classes),
        "samples": ["' or 1=1 --"],
        "ips": [ip],
        "datasets": ["d1"],
        "first_seen": SEEN,
        "last_seen": SEEN,
    }


def test_one_attempt_is_low_two_medium_several_high():
    detector = InjectionDetector()
    assert [
        a.severity
        for a in detector.score(pl.DataFrame([attempts(1), attempts(2, ip="a"), attempts(3, ip="b")]))
    ] == ["low", "medium", "high"]
    [alert] = detector.score(pl.DataFrame([attempts(4, ("sqli", "xss"), consumer_id="c1")]))
    assert (alert.consumer_id, alert.client_ip, alert.dataset_id) == ("c1", "203.0.113.9", "d1")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    assert alert_title(alert.as_row(), "zh") == "c1发起注入攻击尝试 4 次（SQL 注入、跨站脚本）"
    assert (
        alert_title(alert.as_row(), "en")
        == "c1 made 4 injection attempt(s) (SQL injection, cross-site scripting)"
    )
    assert detector.score(pl.DataFrame()) == []


def scans(sensitive: int, refused: int, ip: str = "203.0.113.1") -> dict:
    return {
        "consumer_id": "",
        "anon_ip": ip,
        "day": DAY,
        "calls": sensitive + refused,
        "sensitive_calls": sensitive,
        "sensitive_paths": sensitive,
        "sensitive_samples": ["/wp-login.php", "/.env"][:sensitive],
        "refused_calls": refused,
        "refused_paths": refused,
        "refused_samples": [f"/x{n}" for n in range(min(refused, 10))],
        "ips": [ip],
        "agents": ["zgrab/0.x"],
        "first_seen": SEEN,
        "last_seen": SEEN,
    }


def test_one_sensitive_path_is_enough_and_a_wide_sweep_too():
    detector = ScanningDetector()
    [one] = detector.score(pl.DataFrame([scans(1, 1)]))
    assert one.severity == "low" and one.client_ip == "203.0.113.1"
    assert alert_title(one.as_row(), "en") == (
        "anonymous 203.0.113.1 scanned 1 sensitive path(s) (e.g. /wp-login.php); 1 distinct paths refused"
    )
    assert detector.score(pl.DataFrame([scans(0, 9)])) == []
    [sweep] = detector.score(pl.DataFrame([scans(0, 35)]))
    assert sweep.severity == "high" and sweep.message == "alerts.scanning.sweep"
    assert "/wp-login.php" in sensitive_phrases() and "/.git/" in sensitive_phrases()


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
