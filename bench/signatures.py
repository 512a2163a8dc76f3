"""Signature benchmark: labelled attack and normal parameter values through the whole pipeline.

    .venv/bin/python bench/signatures.py [--per-client 10] [--seed 14]

Replays bench/labelled/params.csv as anonymous web traffic: every attacking client sends
`--per-client` requests, each carrying one attack value in a query parameter (q, id or
date); every normal client sends as many requests with normal values, in the parameter
their shape suggests. A week of lawful searches by other visitors comes first, the history
the tampering detector learns each endpoint's parameters from. The access log is written as
JSON Lines, loaded by `odwatch ingest`'s loader and judged by every detector (`odwatch
detect`'s runner), on a scratch data directory. Prints the share of attacking clients the
injection detector flags, the share any detector flags, the share of normal clients any
detector flags, and per value the signatures' own hit rate by class. Targets (issue #14):
attacking clients flagged >= 90 %, normal clients flagged <= 1 %. Asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ comes first on sys.path, and bench/ingest.py would shadow the ingest package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from odwatch.clock import SHANGHAI  # noqa: E402

DAY = date(2026, 3, 10)
HISTORY_DAYS = 7
DATE = re.compile(r"^\d{4}([-/]\d{1,2}){1,2}|^\d{4}年")


def load(path: Path) -> dict[str, list[tuple[str, str]]]:
    rows: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[row["label"]].append((row["class"], row["value"]))
    return rows


def parameter_for(value: str) -> str:
    """Where a visitor would put a normal value: a date in `date`, a number in `id`, the rest in `q`."""
    if DATE.match(value):
        return "date"
    return "id" if value.isdigit() else "q"


def line(n: int, ts: datetime, ip: str, params: dict, agent: str) -> str:
    dataset = f"d{n % 12}"
    return json.dumps({
        "event_id": f"sig-{n:08d}", "ts": ts.isoformat(), "consumer_id": "", "key_id": "",
        "dataset_id": dataset, "channel": "api", "endpoint": f"/api/v1/datasets/{dataset}/records",
        "method": "GET", "status": 200, "latency_ms": 60, "rows": 20, "bytes": 4000, "fields": [],
        "scenario": "", "client_ip": ip, "user_agent": agent, "params": params}, ensure_ascii=False)


def write_log(path: Path, values: dict[str, list[tuple[str, str]]], per_client: int,
              rng: random.Random) -> dict[str, dict]:
    """The log, and the clients of the judged day: address -> {"label", "classes"}."""
    agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0", "Mozilla/5.0 (iPhone) Safari/605.1",
              "python-requests/2.31", "okhttp/4.12"]
    normal = [v for _, v in values["normal"]]
    clients: dict[str, dict] = {}
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for day in range(HISTORY_DAYS, 0, -1):               # the lawful history, other visitors
            for k in range(400):
                value = rng.choice(normal)
                ts = datetime(DAY.year, DAY.month, DAY.day, 8 + k % 12, k % 60, tzinfo=SHANGHAI) \
                    - timedelta(days=day)
                ip = f"198.51.{100 + k % 20}.{1 + k % 250}"
                out.write(line(n, ts, ip, {parameter_for(value): value, "page": 1 + k % 3},
                               agents[k % 4]) + "\n")
                n += 1
        for label in ("attack", "normal"):
            items = values[label][:]
            rng.shuffle(items)
            for c in range(len(items) // per_client):
                ip = f"{'203.0' if label == 'attack' else '192.0'}.{c // 250}.{1 + c % 250}"
                chunk = items[c * per_client:(c + 1) * per_client]
                clients[ip] = {"label": label, "classes": Counter(kind for kind, _ in chunk)}
                start = datetime(DAY.year, DAY.month, DAY.day, rng.randrange(0, 23), rng.randrange(60),
                                 tzinfo=SHANGHAI)
                for r, (_, value) in enumerate(chunk):
                    name = rng.choice(["q", "id", "date"]) if label == "attack" else parameter_for(value)
                    params = {name: value, "page": 1 + r % 3}
                    out.write(line(n, start + timedelta(seconds=20 * r), ip, params, agents[c % 4]) + "\n")
                    n += 1
    return clients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-client", type=int, default=10)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--data", type=Path, default=HERE / "labelled" / "params.csv")
    args = parser.parse_args()

    from detectors import signatures
    from detectors.runner import run_detectors
    from ingest.loader import ingest_paths
    from odwatch.settings import Settings
    from warehouse import connect

    values = load(args.data)
    print(f"labelled values: {len(values['attack'])} attack, {len(values['normal'])} normal")
    per_class: dict[str, Counter] = defaultdict(Counter)
    for label in ("attack", "normal"):
        for kind, value in values[label]:
            per_class[kind]["values"] += 1
            per_class[kind]["hit"] += bool(signatures.attack_classes(value))
    print("signatures alone, per value: " + ", ".join(
        f"{kind} {c['hit'] / c['values']:.1%}" for kind, c in per_class.items()))

    scratch = Path(tempfile.mkdtemp(prefix="odwatch-signatures-"))
    try:
        settings = Settings(data_dir=scratch, clickhouse_url="", clickhouse_cluster="",
                            clickhouse_database="odwatch_signatures")
        client = connect(settings)
        log = scratch / "replay.jsonl"
        clients = write_log(log, values, args.per_client, random.Random(args.seed))
        started = time.perf_counter()
        summary = ingest_paths(client, [log], "jsonl", settings=settings)
        run = run_detectors(client, settings, until=datetime(DAY.year, DAY.month, DAY.day, tzinfo=SHANGHAI)
                            + timedelta(days=1))
        elapsed = time.perf_counter() - started
        flagged: dict[str, set[str]] = defaultdict(set)
        for category, ip in client.query("SELECT category, client_ip FROM alerts FINAL").result_rows:
            flagged[ip].add(category)
        print(f"pipeline: {summary.as_dict().get('inserted')} events ingested and judged in {elapsed:.1f} s, "
              f"{run.alerts} alerts {dict(run.by_category)}")
        for label in ("attack", "normal"):
            ips = [ip for ip, c in clients.items() if c["label"] == label]
            injection = sum("injection" in flagged[ip] for ip in ips)
            anything = sum(bool(flagged[ip]) for ip in ips)
            print(f"{label} clients ({len(ips)}, {args.per_client} requests each): injection detector "
                  f"{injection / len(ips):.1%}, any detector {anything / len(ips):.1%}")
        history = [ip for ip in flagged if ip.startswith("198.51.")]
        print(f"history visitors flagged: {len(history)}")
        missed = Counter(kind for ip, c in clients.items() if c["label"] == "attack" and not flagged[ip]
                         for kind in c["classes"])
        if missed:
            print(f"values in the missed attacking clients, by class: {dict(missed)}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
