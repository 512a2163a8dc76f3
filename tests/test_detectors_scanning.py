"""Scanning: requests for sensitive paths (admin consoles, dotfiles, backups) or a sweep of refused
paths; the score on hand-built frames, then the detector on the engine.
"""

from datetime import date, datetime

import polars as pl
from detect_patterns_support import at, event, insert, lawful_searches, whole_days

from detectors.messages import alert_title
from detectors.scanning import ScanningDetector, sensitive_phrases
from odwatch.clock import SHANGHAI

DAY = date(2026, 3, 10)
SEEN = datetime(2026, 3, 10, 3, tzinfo=SHANGHAI)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

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


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def test_scanners_asking_for_admin_consoles_and_dotfiles_are_flagged_one_request_each(client):
    insert(client, lawful_searches(DAY, 1))
    scans = {"203.0.113.1": ["/wp-login.php"], "203.0.113.2": ["/administrator/", "/admin.php"],
             "203.0.113.3": ["/.env", "/.git/config", "/index.php.bak", "/config.php~", "/backup.zip"],
             "203.0.113.4": ["/blog/wp-includes/wlwmanifest.xml"],
             "203.0.113.5": ["/wp-content/plugins/revslider/temp/update_extract/"]}
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
