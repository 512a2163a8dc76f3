"""Ingest benchmark: `odwatch ingest` against the engine's own JSONEachRow insert.

Generates (or reuses) bench/data/access_1000000.jsonl, a 1,000,000-line access log
shaped like the gateway's, then in one run times
  (a) the engine's own `INSERT INTO access_log SELECT ... FROM file(..., JSONEachRow)`
      into a freshly migrated scratch database (same schema, same materialized views), and
  (b) `odwatch ingest` of the same file, full validation, as a subprocess on a fresh
      data directory, with its peak RSS,
and prints both rows/s, the ratio b/a and the peak RSS.

    .venv/bin/python bench/ingest.py [--lines N] [--regenerate] [--repeat N]

With --repeat N it measures N back-to-back pairs and reports the median pair.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DATA_DIR = Path(__file__).parent / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENTS = [
    "python-requests/2.31.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
    "okhttp/4.12.0",
    "Apache-HttpClient/4.5.14 (Java/17.0.9)",
    "curl/8.5.0",
]
FIELDS = ["name", "address", "district", "phone", "license_no", "issued_at", "status", "category",
          "lng", "lat"]


def realistic_line(rng: random.Random, when: datetime) -> dict:
    """One gateway request as the input contract describes it (skewed, like real traffic)."""
    anonymous = rng.random() < 0.2
    consumer = "" if anonymous else f"C{int(rng.paretovariate(1.2)) % 3000:05d}"
    dataset = f"DS{int(rng.paretovariate(1.1)) % 800:04d}"
    page = rng.randint(1, 20)
    ts: object = when.isoformat(timespec="milliseconds")
    if rng.random() < 0.1:
        ts = int(when.timestamp() * 1000)
    channel = "download" if rng.random() < 0.15 else "api"
    status = rng.choices([200, 200, 200, 200, 304, 400, 401, 403, 404, 429, 500], k=1)[0]
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "ts": ts,
        "consumer_id": consumer,
        "key_id": "" if anonymous else f"K{consumer[1:]}-{rng.randint(1, 3)}",
        "dataset_id": dataset,
        "channel": channel,
        "endpoint": f"/api/v1/datasets/{dataset}/{'download' if channel == 'download' else 'rows'}",
        "method": "GET" if rng.random() < 0.9 else "POST",
        "status": status,
        "latency_ms": int(rng.lognormvariate(4, 0.7)),
        "rows": 0 if status >= 400 else rng.choice([10, 20, 50, 100, 500]),
        "bytes": rng.randint(200, 200_000),
        "fields": rng.sample(FIELDS, rng.randint(0, 4)),
        "scenario": "" if anonymous else f"S{rng.randint(1, 40):03d}",
        "client_ip": _ip(rng),
        "user_agent": rng.choice(AGENTS),
        "params": {"page": page, "page_size": 100} if rng.random() < 0.7 else {"q": "浦东新区", "limit": 50},
    }


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.95:
        return f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"2408:8207:{rng.randint(0, 65535):x}::{rng.randint(1, 999)}"


def generate(path: Path, lines: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    # A gateway writes its log in time order: the lines span 30 days, a few ms of jitter each.
    start = datetime(2026, 10, 1, tzinfo=SHANGHAI)
    step_ms = 30 * 86400 * 1000 / lines
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as out:
        for n in range(lines):
            when = start + timedelta(milliseconds=n * step_ms + rng.randint(0, 50))
            out.write(json.dumps(realistic_line(rng, when), ensure_ascii=False) + "\n")
    tmp.rename(path)


ENGINE_STRUCTURE = (
    "event_id String, ts String, consumer_id String, key_id String, dataset_id String, channel String, "
    "endpoint String, method String, status UInt16, latency_ms UInt32, rows UInt64, bytes UInt64, "
    "fields Array(String), scenario String, client_ip String, user_agent String, params String"
)

# (a): the engine's own reader, doing only what it must to fit the schema (a ts may be
# RFC 3339 text or epoch milliseconds). No validation, no dedupe, no quarantine.
ENGINE_INSERT = """
INSERT INTO access_log
SELECT event_id,
       if(match(ts, '^[0-9]+$'), fromUnixTimestamp64Milli(toInt64(ts), 'Asia/Shanghai'),
          parseDateTime64BestEffort(ts, 3, 'Asia/Shanghai')),
       consumer_id, key_id, dataset_id, channel, endpoint, method, status, latency_ms, rows, bytes,
       fields, scenario, client_ip, user_agent, params, 'engine'
FROM file({path:String}, JSONEachRow, {structure:String})
"""


def engine_insert(path: Path, scratch: Path, database: str) -> dict:
    """(a) in this process: a freshly migrated scratch database, one INSERT ... FROM file()."""
    from odwatch.settings import Settings
    from warehouse import connect

    client = connect(Settings(data_dir=scratch, clickhouse_database=database))
    started = time.perf_counter()
    client.command(ENGINE_INSERT, parameters={"path": str(path.resolve()), "structure": ENGINE_STRUCTURE})
    elapsed = time.perf_counter() - started
    rows = client.query("SELECT count() FROM access_log").result_rows[0][0]
    # Dropped at once: its background merges would otherwise run on during (b) and slow it.
    client.command(f"DROP DATABASE `{database}` SYNC")
    return {"rows": rows, "elapsed_s": elapsed, "rows_per_s": rows / elapsed}


def odwatch_ingest(path: Path, data_dir: Path) -> dict:
    """(b) `odwatch ingest --json` as its own process on a fresh data directory; wall time and peak RSS."""
    env = {**os.environ, "ODWATCH_DATA_DIR": str(data_dir)}
    env.pop("ODWATCH_CLICKHOUSE_URL", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "odwatch", "ingest", str(path), "--json"],
                          env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"odwatch ingest failed:\n{done.stderr}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"summary": summary, "wall_s": wall, "rows_per_s": summary["read"] / wall,
            "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure N pairs of (a) and (b); report the median")
    args = parser.parse_args()
    path = DATA_DIR / f"access_{args.lines}.jsonl"
    if args.regenerate or not path.exists():
        print(f"generating {path} ...", flush=True)
        generate(path, args.lines)
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {args.lines:,} lines); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    pairs = []
    # (a) and (b) run back to back, N times: on a shared machine the load moves, and a pair
    # measured together sees about the same load. The median pair is reported.
    with tempfile.TemporaryDirectory(prefix="odwatch-bench-") as tmp:
        for attempt in range(args.repeat):
            a = engine_insert(path, Path(tmp) / "engine", f"bench_engine_{attempt}")
            b = odwatch_ingest(path, Path(tmp) / f"ingest{attempt}")
            shutil.rmtree(Path(tmp) / f"ingest{attempt}", ignore_errors=True)
            s = b["summary"]
            pairs.append((b["rows_per_s"] / a["rows_per_s"], a, b))
            print(f"pair {attempt + 1}: (a) engine INSERT ... FROM file(JSONEachRow) "
                  f"{a['elapsed_s']:.1f} s = {a['rows_per_s']:,.0f} rows/s | "
                  f"(b) odwatch ingest {b['wall_s']:.1f} s whole process = "
                  f"{b['rows_per_s']:,.0f} rows/s ({s['elapsed_s']:.1f} s = {s['rows_per_s']:,.0f} rows/s "
                  f"loading) | b/a {b['rows_per_s'] / a['rows_per_s']:.2f} whole process, "
                  f"{s['rows_per_s'] / a['rows_per_s']:.2f} loading; load average {os.getloadavg()[0]:.1f}",
                  flush=True)
    pairs.sort(key=lambda pair: pair[0])
    _, engine, ours = pairs[len(pairs) // 2]
    s = ours["summary"]
    print(f"median pair of {len(pairs)}:")
    print(f"(a) engine INSERT ... FROM file(JSONEachRow): {engine['rows']:,} rows in "
          f"{engine['elapsed_s']:.1f} s = {engine['rows_per_s']:,.0f} rows/s")
    print(f"(b) odwatch ingest (validation, dedupe, ledger): read {s['read']:,}, inserted {s['inserted']:,}, "
          f"duplicates {s['duplicates']:,}, rejected {s['rejected']:,}")
    print(f"    whole process {ours['wall_s']:.1f} s = {ours['rows_per_s']:,.0f} rows/s; "
          f"its own loading time {s['elapsed_s']:.1f} s = {s['rows_per_s']:,.0f} rows/s")
    print(f"ratio b/a (whole process): {ours['rows_per_s'] / engine['rows_per_s']:.2f}")
    print(f"ratio b/a (loading time):  {s['rows_per_s'] / engine['rows_per_s']:.2f}")
    print(f"peak RSS of odwatch ingest (largest of the runs): "
          f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
