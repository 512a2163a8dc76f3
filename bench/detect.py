"""Detector benchmark: a full run over the demo platform, then an incremental one-hour run.

    .venv/bin/python bench/detect.py [--repeat 3]         # RSS at two scales: medium (2 M) and large (10 M)
    .venv/bin/python bench/detect.py --scale large|medium|small [--seed 7] [--rebuild]
    .venv/bin/python bench/detect.py --scale year          # ~100 M events, a year, generated week by week

The platform is built once under bench/data/detect-<scale>/ (in a child process,
so building does not count towards this process's peak memory) and reused on
later runs; `--clean` removes it afterwards (the year takes several GB). Prints
wall time, events per second, peak RSS and each detector's time; asserts
nothing. Without `--scale`, each of the two scales is measured in a process of
its own and the peak RSS of the two are compared. Targets (issue #14): full run
over ~10 M events <= 60 s; peak RSS at 10 M within 10 % of the RSS at 2 M and
<= 1 GB; the year <= 5 min (issue #3: incremental hourly run <= 5 s).
The year's log is the background of bench/year_log.py, not the demo platform.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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
    if scale == "year":
        from odwatch.clock import today

        sys.path.insert(0, str(HERE))
        from year_log import load_year

        def progress(days: int, total: int, events: int) -> None:
            print(f"  {days}/{total} days, {events:,} events loaded, {time.perf_counter() - started:.0f} s",
                  flush=True)

        events = load_year(connect(settings), today() - timedelta(days=1), seed=seed, progress=progress)
        print(f"built the year: {events:,} events in {time.perf_counter() - started:.0f} s")
        return
    summary = build_demo(connect(settings), settings, scale=scale, seed=seed, progress=True)
    print(f"built the {scale} platform in {time.perf_counter() - started:.0f} s: {summary.events:,} events")


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
          f"{events / wall:,.0f} events/s, {full.alerts} alerts, {full.slices} slice(s), "
          f"peak RSS {peak_rss_mb():,.0f} MB (before the run {rss_before:,.0f} MB)")
    print(f"PEAK_RSS_MB={peak_rss_mb():.0f} EVENTS={events} FULL_RUN_S={wall:.1f}", flush=True)
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
    parser.add_argument("--scale", default=None, choices=("small", "medium", "large", "year"),
                        help="One scale; without it, medium and large each in a process of its own.")
    parser.add_argument("--clean", action="store_true", help="Remove the platform's data afterwards.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="Runs of each scale (without --scale).")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="Build the platform again even if present.")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale is None:
        compare_scales(args)
        return
    data_dir = (args.data_dir or HERE / "data" / f"detect-{args.scale}").resolve()
    if args.build_only:
        build(data_dir, args.scale, args.seed)
        return
    if args.rebuild or not (data_dir / "chdb").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--scale", args.scale, "--seed",
                        str(args.seed), "--data-dir", str(data_dir)], check=True)
    bench(data_dir)
    if args.clean:
        shutil.rmtree(data_dir, ignore_errors=True)


def compare_scales(args: argparse.Namespace) -> None:
    """Medium (2 M) and large (10 M), each measured in child processes (`--repeat` times, alternating):
    the peak RSS of a full run must not grow with the history it covers. A process's peak moves by a
    few per cent from run to run on a shared machine, so the medians are compared."""
    runs: dict[str, list[tuple[int, float, float]]] = {"medium": [], "large": []}
    for attempt in range(args.repeat):
        for scale in runs:
            command = [sys.executable, __file__, "--scale", scale, "--seed", str(args.seed)]
            command += ["--rebuild"] if args.rebuild and attempt == 0 else []
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            if attempt == args.repeat - 1:
                print(output, end="")
            line = next(x for x in output.splitlines() if x.startswith("PEAK_RSS_MB="))
            figures = dict(item.split("=") for item in line.split())
            runs[scale].append((int(figures["EVENTS"]), float(figures["PEAK_RSS_MB"]),
                                float(figures["FULL_RUN_S"])))
    for scale, measured in runs.items():
        print(f"{scale}: full run {', '.join(f'{r[2]:.1f}' for r in measured)} s; "
              f"peak RSS {', '.join(f'{r[1]:,.0f}' for r in measured)} MB")
    (small_events, small_rss), (large_events, large_rss) = (
        (runs[scale][0][0], statistics.median(r[1] for r in runs[scale])) for scale in runs)
    print(f"peak RSS of a full run (median of {args.repeat}): {small_events:,} events {small_rss:,.0f} MB, "
          f"{large_events:,} events {large_rss:,.0f} MB; ratio {large_rss / small_rss:.2f} for "
          f"{large_events / small_events:.1f}x the events (target: within 10 %, <= 1 GB)")


if __name__ == "__main__":
    main()
