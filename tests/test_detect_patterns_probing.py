"""Probing: refusals across many datasets without rights; a repeated refusal is not probing."""

from datetime import date

from detect_patterns_support import at, daytime_habit, event, insert, whole_days

from detectors.probing import ProbingDetector

DAY = date(2026, 3, 10)
ATTACKS = ["' OR 1=1 --", "1 UNION SELECT password FROM users", "../../etc/passwd",
           "<script>alert(1)</script>"]


def test_refusals_over_many_datasets_are_flagged(client):
    insert(client, daytime_habit("lawful", DAY, 1, per_hour=40))
    # A lawful user with a typo: a few 404s among many good calls.
    insert(client, [event(at(DAY, 12, n), "lawful", "d9", status=404) for n in range(10)])
    probes = [event(at(DAY, 3, n // 2, n % 2 * 30), "prober", f"d{n % 8}", status=403 if n % 4 else 200,
                    client_ip="198.51.100.23", params={"q": ATTACKS[n % 4] if n % 5 == 0 else "x"})
              for n in range(60)]
    insert(client, probes)
    alerts = ProbingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.client_ip) for a in alerts] == [("prober", "198.51.100.23")]
    ev = alerts[0].evidence
    assert (ev["calls"], ev["status_403"], ev["datasets_refused"]) == (60, 45, 6)
    assert ev["error_share"] == 0.75
    assert sum(c for _, c in ev["per_minute"]) == 60
    assert ProbingDetector().run(client, whole_days(DAY, DAY))[0].alert_id == alerts[0].alert_id


def test_refused_visitors_downloads_and_a_broken_client_are_not_probing(client):
    # Anonymous visitors refused on a conditional dataset a few times: not probing.
    insert(client, [event(at(DAY, 10, n), "", "dc", client_ip=f"10.0.{n}.1", status=401) for n in range(30)])
    insert(client, [event(at(DAY, 10, n), "", "du", client_ip="8.8.8.8", channel="download", rows=5000)
                    for n in range(30)])
    # A broken integration asking 300 times a day for one withdrawn id, every call 404.
    insert(client, [event(at(DAY, 8 + n // 30, n % 30, 5), "broken", "gone", status=404, rows=0)
                    for n in range(300)])
    assert ProbingDetector().run(client, whole_days(DAY, DAY)) == []
