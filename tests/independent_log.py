"""A small log written from issue #14's description, not by the demo generator, for an independent
check of the detectors (tests/test_detectors_malicious.py) and of the alert texts.

Ten days of a platform's log, its first day the day the log starts (no history before it): ordinary
consumers and visitors, the look-alikes that must stay quiet (a company behind one egress address,
a health check calling once a minute from the first day, a nightly full download, a broken client
asking 300 times a day for one withdrawn id), and the attackers the issue names (sixteen addresses
of one /24 each paging a disjoint slice of one dataset, a burst on the log's second day, a slow
sequential walk over many hours, scanners with one to three requests, one injection attempt). Every
detector runs on it, as `odwatch detect` runs them, and the tests check who raised what.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

from detect_patterns_support import COLUMNS

from odwatch.clock import SHANGHAI

FIRST = date(2026, 3, 2)
DAYS = 10
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/121.0"


class Log:
    """Rows of access_log, written call by call, over DAYS days from `first`."""

    def __init__(self, first: date = FIRST) -> None:
        self.first = first
        self.rows: list[list] = []

    def at(self, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
        """A Shanghai moment on the log's `day`-th day (0 is its first)."""
        return datetime.combine(self.first + timedelta(days=day), datetime.min.time(), SHANGHAI) + timedelta(
            hours=hour, minutes=minute, seconds=second)

    def call(self, ts: datetime, *, consumer: str = "", ip: str, dataset: str = "ds-bus", status: int = 200,
             params: dict | None = None, endpoint: str | None = None, channel: str = "api", rows: int = 20,
             agent: str = BROWSER) -> None:
        endpoint = endpoint if endpoint is not None else f"/open/api/{dataset}/rows"
        key = f"key-{consumer}" if consumer else ""
        self.rows.append([f"ind-{len(self.rows)}", ts, consumer, key, dataset, channel, endpoint, "GET",
                          status, 50, rows if status < 400 else 0, rows * 120 + 300, [], "", ip, agent,
                          json.dumps(params or {}), "independent"])


def background(log: Log, rng: random.Random) -> None:
    """Forty consumers reading a few pages in office hours, two hundred visitors now and then."""
    datasets = [f"ds-{n}" for n in range(30)]
    for c in range(40):
        habit = rng.randint(5, 30)
        own = rng.sample(datasets, 3)
        for day in range(DAYS):
            for _ in range(rng.randint(habit // 2, habit)):
                log.call(log.at(day, rng.randint(9, 17), rng.randint(0, 59), rng.randint(0, 59)),
                         consumer=f"c{c}", ip=f"10.20.{c}.5", dataset=rng.choice(own),
                         params={"page": rng.randint(1, 3), "size": 50})
    for v in range(200):
        for _ in range(rng.randint(1, 6)):
            log.call(log.at(rng.randrange(DAYS), rng.randint(7, 23), rng.randint(0, 59)),
                     ip=f"112.{v % 7}.{v}.{v % 200 + 1}", dataset=rng.choice(datasets),
                     params={"page": 1, "keyword": rng.choice(["地铁站", "学校", "医院", "公园"])})


def look_alikes(log: Log, rng: random.Random) -> None:
    # A company's staff behind one egress address, reading the same first pages.
    for staff in range(12):
        for day in range(DAYS):
            for _ in range(rng.randint(3, 10)):
                log.call(log.at(day, rng.randint(9, 17), rng.randint(0, 59)), consumer=f"corp{staff}",
                         ip="58.33.1.1", dataset="ds-3", params={"page": rng.randint(1, 4), "size": 20})
    # A health check, once a minute, from the first day on.
    for minute in range(DAYS * 24 * 60):
        log.call(log.at(0, 0, minute), consumer="monitor", ip="10.9.9.9", dataset="ds-5",
                 params={"page": 1, "size": 1}, rows=1, agent="Zabbix")
    # A nightly full download of two files.
    for day in range(DAYS):
        for dataset in ("ds-7", "ds-8"):
            log.call(log.at(day, 2, rng.randint(0, 30)), consumer="mirror", ip="10.8.8.8", dataset=dataset,
                     channel="download", endpoint=f"/open/api/{dataset}/file", params={"format": "csv"},
                     rows=40_000)
    # A broken client: 300 calls a day for one withdrawn id, all 404, three days running.
    for day in range(3, 6):
        for n in range(300):
            log.call(log.at(day, 8 + n // 30, (n * 2) % 60), consumer="broken", ip="10.7.7.7",
                     dataset="ds-withdrawn", status=404, params={"page": 1, "size": 50})


def attackers(log: Log, rng: random.Random) -> None:
    # Sixteen addresses of one /24, each paging its own slice of one dataset.
    for k in range(16):
        for page in range(k * 25 + 1, (k + 1) * 25 + 1):
            log.call(log.at(6, 1, page % 60, k), ip=f"203.0.113.{20 + k}", dataset="ds-big",
                     params={"page": page, "size": 100}, rows=100, agent="python-httpx/0.27")
    # A burst on the log's second day, by a consumer active since the first.
    for day in range(DAYS):
        for hour in range(9, 18):
            log.call(log.at(day, hour, 15), consumer="burster", ip="10.30.0.1", dataset="ds-2",
                     params={"page": 1, "size": 50})
    for n in range(600):
        log.call(log.at(1, 14, n // 10, n % 10 * 6), consumer="burster", ip="10.30.0.1", dataset="ds-2",
                 params={"page": n % 5 + 1, "size": 50})
    # A slow sequential walk: a page every three minutes for ten hours.
    for page in range(1, 201):
        log.call(log.at(4, 8) + timedelta(minutes=3 * page), ip="198.51.100.77", dataset="ds-big",
                 params={"page": page, "size": 100}, rows=100)
    # Scanners, one to three requests each.
    for n, paths in enumerate([["/wp-login.php"], ["/administrator/", "/admin.php"],
                               ["/.env", "/.git/HEAD", "/index.php.bak"]]):
        for m, path in enumerate(paths):
            log.call(log.at(7, 3, n, m), ip=f"185.100.87.{n + 1}", dataset="", endpoint=path, status=404,
                     agent="Mozilla/5.0 zgrab/0.x")
    # One injection attempt in a search box.
    log.call(log.at(8, 21), ip="91.200.12.4", dataset="ds-1",
             params={"keyword": "学校' UNION SELECT name, password FROM admin --", "page": 1})


def write_platform(client, first: date = FIRST) -> Log:
    """The whole log and its catalog, in the warehouse."""
    rng = random.Random(2026)
    log = Log(first)
    background(log, rng)
    look_alikes(log, rng)
    attackers(log, rng)
    client.insert("access_log", log.rows, column_names=COLUMNS)
    client.insert("datasets", [[d, "agency", "unconditional", 20_000 if d == "ds-big" else 2_000]
                               for d in ["ds-big", *(f"ds-{n}" for n in range(30))]],
                  column_names=["dataset_id", "agency_id", "open_class", "row_count"])
    return log
