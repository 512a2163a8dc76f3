"""Detector benchmark: a full run over the demo platform, then an incremental one-hour run.

    .venv/bin/python bench/detect.py [--scale large|medium|small] [--seed 7] [--rebuild]

The platform is built once under bench/data/detect-<scale>/ (in a child process,
so building does not count towards this process's peak memory) and reused on
later runs. Prints wall time, events per second, peak RSS and each detector's
time; asserts nothing. Targets (issue #3): full run over ~10M events <= 60 s,
incremental hourly run <= 5 s, peak RSS < 2 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ comes first on sys.path, and bench/ingest.py would shadow the ingest package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
EVENTS_AND_END = "SELECT count(), max(ts) FROM access_log"


def settings_for(data_dir: Path):
    from odwatch.settings import Settings

    return Settings(data_dir=data_dir, clickhouse_url="", clickhouse_cluster="",
                    clickhouse_database="odwatch")


def build(data_dir: Path, scale: str, seed: int) -> None:
    from demo.platform import build_demo
    from warehouse import connect

    settings = settings_for(data_dir)
    started = time.perf_counter()
    summary = build_demo(connect(settings), settings, scale=scale, seed=seed, progress=True)
    print(f"built the {scale} platform in {time.perf_counter() - started:.0f} s: {summary}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux reports KiB


def bench(data_dir: Path) -> None:
    from detectors.runner import process_cpu_seconds, run_detectors
    from warehouse import connect

    settings = settings_for(data_dir)
    client = connect(settings)
    events, last = client.query(EVENTS_AND_END).result_rows[0]
    print(f"platform: {data_dir} — {events:,} events, last at {last}")
    rss_before = peak_rss_mb()

    print(f"machine load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    started, cpu = time.perf_counter(), process_cpu_seconds()
    full = run_detectors(client, settings, until=last + timedelta(seconds=1))
    wall = time.perf_counter() - started
    print(f"full run: {wall:.1f} s wall, {process_cpu_seconds() - cpu:.1f} s CPU, "
          f"{events / wall:,.0f} events/s, {full.alerts} alerts, "
          f"peak RSS {peak_rss_mb():,.0f} MB (before the run {rss_before:,.0f} MB)")
    for detector_id, figures in sorted(full.by_detector.items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"  {detector_id:<40} {figures['seconds']:7.2f} s wall {figures['cpu_seconds']:7.2f} s CPU "
              f"{figures['alerts']:6d} alerts")
    for detector_id, message in full.errors.items():
        print(f"  FAILED {detector_id}: {message}")

    until = last + timedelta(seconds=1)
    started, cpu = time.perf_counter(), process_cpu_seconds()
    hourly = run_detectors(client, settings, since=until - timedelta(hours=1), until=until)
    print(f"incremental one-hour run: {time.perf_counter() - started:.2f} s wall, "
          f"{process_cpu_seconds() - cpu:.2f} s CPU, "
          f"{hourly.events:,} new events, {hourly.alerts} alerts (re)computed; "
          f"peak RSS {peak_rss_mb():,.0f} MB")
    for detector_id, figures in sorted(hourly.by_detector.items(), key=lambda kv: -kv[1]["seconds"])[:5]:
        print(f"  {detector_id:<40} {figures['seconds']:7.2f} s wall {figures['cpu_seconds']:7.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="Build the platform again even if present.")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = (args.data_dir or HERE / "data" / f"detect-{args.scale}").resolve()
    if args.build_only:
        build(data_dir, args.scale, args.seed)
        return
    if args.rebuild or not (data_dir / "chdb").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--scale", args.scale, "--seed",
                        str(args.seed), "--data-dir", str(data_dir)], check=True)
    bench(data_dir)


if __name__ == "__main__":
    main()
