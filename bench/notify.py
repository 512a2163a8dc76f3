"""Notification benchmark: 1,000 new alert groups announced to a webhook on loopback while the
detectors run, against the same detector run with nothing else going on.

    .venv/bin/python bench/notify.py [--scale small|medium|large] [--groups 1000] [--repeat 3] [--rebuild]

The demo platform is built once under bench/data/notify-<scale>/ (in a child process) and reused.
The webhook receiver is a separate process on 127.0.0.1 answering 200. Each repeat runs a full
detector run alone ("off"), then again while a thread of this process (as `odwatch serve`'s
notification job does) announces a fresh set of alert groups and delivers every message ("on").
Prints the median detection wall times, their ratio (off / on: 1.0 means notification costs
detection nothing; the target is >= 0.95), and how long the 1,000 deliveries took; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ comes first on sys.path, and bench/ingest.py would shadow the ingest package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

RECEIVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"         # keeps connections open, as real webhook servers do,
    disable_nagle_algorithm = True        # and answers at once (nginx's tcp_nodelay)
    def log_message(self, *args): pass
    def _reply(self, body):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0))); count += 1; self._reply(b'{"ok":true}')
    def do_GET(self):
        self._reply(json.dumps({"received": count}).encode())
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def settings_for(data_dir: Path, url: str = ""):
    from odwatch.settings import ChannelSettings, NotifySettings, Settings

    channels = [ChannelSettings(name="bench", kind="webhook", target=url, min_severity="critical")
                for url in [url] if url]
    return Settings(data_dir=data_dir, clickhouse_url="", clickhouse_cluster="",
                    clickhouse_database="odwatch",
                    notify=NotifySettings(channels=channels, lookback_hours=24 * 400))


def build(data_dir: Path, scale: str, seed: int) -> None:
    from demo.platform import build_demo
    from warehouse import connect

    settings = settings_for(data_dir)
    started = time.perf_counter()
    summary = build_demo(connect(settings), settings, scale=scale, seed=seed, progress=True)
    print(f"built the {scale} platform in {time.perf_counter() - started:.0f} s: {summary.events:,} events")


def new_groups(client, count: int, tag: str) -> None:
    """`count` critical alerts, each its own group, in yesterday's window: all new to the notifier."""
    from detectors.base import Alert
    from detectors.store import save_alerts
    from odwatch import clock

    start = clock.floor_to_day(clock.now()) - timedelta(days=1)
    save_alerts(client, [Alert(detector_id="bench_notify", category="burst", article="第三十条",
                               severity="critical", score=9.0, message="alerts.burst", window_start=start,
                               window_end=start + timedelta(days=1), consumer_id=f"bench-{tag}-{n:05d}")
                         for n in range(count)])


def received(port: int) -> int:
    import json

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return json.loads(response.read())["received"]


def bench(data_dir: Path, groups: int, repeat: int) -> None:
    from detectors.runner import run_detectors
    from reports.notify.outbox import run_notifications
    from warehouse import connect

    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(receiver.stdout.readline())
        settings = settings_for(data_dir, f"http://127.0.0.1:{port}/hook")
        client = connect(settings)
        events, last = client.query("SELECT count(), max(ts) FROM access_log").result_rows[0]
        until = last + timedelta(seconds=1)
        print(f"platform: {data_dir} — {events:,} events; receiver on 127.0.0.1:{port}")
        print(f"machine load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        run_detectors(client, settings, until=until)                  # warm: caches, first parts
        run_notifications(client, settings)                           # announce what detection found
        off, on, deliveries = [], [], []
        run_tag = f"{int(time.time())}"              # fresh groups on every run of the script
        for n in range(repeat):
            started = time.perf_counter()
            run_detectors(client, settings, until=until)
            off.append(time.perf_counter() - started)

            new_groups(client, groups, f"{run_tag}-r{n}")
            before = received(port)
            outcome: dict = {}

            def notify(outcome: dict = outcome) -> None:
                tick = time.perf_counter()
                outcome["summary"] = run_notifications(connect(settings), settings)
                outcome["seconds"] = time.perf_counter() - tick

            worker = threading.Thread(target=notify)
            worker.start()
            started = time.perf_counter()
            run_detectors(client, settings, until=until)
            on.append(time.perf_counter() - started)
            worker.join()
            deliveries.append(outcome["seconds"])
            got = received(port) - before
            summary = outcome["summary"]
            print(f"  repeat {n + 1}: detection alone {off[-1]:.2f} s, with notification {on[-1]:.2f} s; "
                  f"{summary.new_groups} new groups, {summary.sent} sent ({got} received) in "
                  f"{outcome['seconds']:.2f} s, {summary.retrying + summary.failed} not delivered")
        ratio = statistics.median(off) / statistics.median(on)
        print(f"detection wall time: alone {statistics.median(off):.2f} s, with {groups:,} groups being "
              f"notified {statistics.median(on):.2f} s (medians of {repeat}); "
              f"ratio {ratio:.2f} (target >= 0.95)")
        print(f"{groups:,} messages delivered in {statistics.median(deliveries):.2f} s "
              f"({groups / statistics.median(deliveries):,.0f} messages/s, median)")
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true", help="Build the platform again even if present.")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = (args.data_dir or HERE / "data" / f"notify-{args.scale}").resolve()
    if args.build_only:
        build(data_dir, args.scale, args.seed)
        return
    if args.rebuild or not (data_dir / "chdb").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--scale", args.scale, "--seed",
                        str(args.seed), "--data-dir", str(data_dir)], check=True)
    bench(data_dir, args.groups, args.repeat)


if __name__ == "__main__":
    main()
