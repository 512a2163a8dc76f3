"""Usage analytics query times at ~10 M access-log events.

    .venv/bin/python bench/usage_queries.py [--events 10000000] [--data-dir DIR]

Fills a scratch embedded database (default bench/data/usage_<events>/) with synthetic events
spread over 180 days, 300 datasets of 50 agencies and 3 000 active consumers (the materialized
views fill the pre-aggregates as for real ingest), then times each reports.usage function over the
whole period, unfiltered and with agency / consumer-kind / channel filters. Target: <= 300 ms each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and its reports.py would shadow the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odwatch.settings import Settings  # noqa: E402
from reports import usage  # noqa: E402
from reports.filters import ReportFilters  # noqa: E402
from warehouse import connect  # noqa: E402

UNTIL = date(2026, 11, 27)
DAYS = 180

FILL_CATALOG = """
INSERT INTO agencies (agency_id, name)
SELECT concat('A', toString(number)), concat('机构', toString(number)) FROM numbers(50);
INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class)
SELECT concat('D', toString(number)), concat('A', toString(number % 50)), concat('数据集', toString(number)),
       ['经济', '交通', '教育', '卫生', '环境'][number % 5 + 1],
       if(number % 3 = 0, 'conditional', 'unconditional')
FROM numbers(300);
INSERT INTO consumers (consumer_id, name, kind)
SELECT concat('C', toString(number)), concat('用户', toString(number)),
       ['person', 'company', 'organisation'][number % 3 + 1]
FROM numbers(20000)
"""

# Realistic concentration: 3 000 consumers each use three datasets through one channel and
# scenario; one request in ten is anonymous, spread over all datasets by IP.
FILL_EVENTS = """
INSERT INTO access_log (event_id, ts, consumer_id, key_id, dataset_id, channel, endpoint, method, status,
                        latency_ms, rows, bytes, fields, scenario, client_ip)
SELECT concat('e', toString(number)),
       toDateTime64(toDateTime({start:Date}) + intDiv(number * 15551, 1000) % (180 * 86400), 3,
                    'Asia/Shanghai'),
       if(anonymous, '', concat('C', toString(c))),
       if(anonymous, '', concat('K', toString(c))),
       concat('D', toString(if(anonymous, cityHash64(number) % 300, (c * 7 + number % 3) % 300))),
       if(c % 7 = 0, 'download', 'api'), '/api/v1/data', 'GET',
       [200, 200, 200, 200, 200, 200, 200, 200, 404, 500][number % 10 + 1],
       toUInt32(20 + cityHash64(number, 2) % 400), cityHash64(number, 3) % 1000, 2048,
       arraySlice(['name', 'code', 'address', 'date', 'amount'], 1, number % 4),
       if(anonymous, '', ['S1', 'S2', 'S3'][c % 3 + 1]),
       concat('10.', toString(c % 200), '.', toString(intDiv(number, 200) % 250), '.1')
FROM (SELECT number, number % 10 = 0 AS anonymous, cityHash64(number) % 3000 AS c
      FROM numbers({events:UInt64}))
"""


def fill(client, events: int) -> None:
    for statement in FILL_CATALOG.split(";"):
        client.command(statement)
    start = UNTIL - timedelta(days=DAYS - 1)
    step = 2_000_000
    for offset in range(0, events, step):
        client.command(FILL_EVENTS.replace("FROM numbers({events:UInt64})",
                                           f"FROM numbers({offset}, {min(step, events - offset)})"),
                       parameters={"start": start})
        print(f"  {min(offset + step, events):,} events", flush=True)


FUNCTIONS = ["calls_by_day", "by_agency", "by_domain", "by_dataset", "by_consumer", "by_consumer_kind",
             "by_channel", "by_scenario", "top_fields", "field_heatmap", "platform_operation"]


def time_call(fn, *args, repeat: int = 3) -> float:
    fn(*args)                                         # warm the caches once
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(__file__).parent / "data" / f"usage_{args.events}"
    client = connect(Settings(data_dir=data_dir, clickhouse_database="bench"))
    have = client.query("SELECT count() FROM access_log").result_rows[0][0]
    if have != args.events:
        if have:
            client.command("TRUNCATE TABLE access_log")
            for table in ("usage_daily", "usage_hourly", "usage_daily_dataset", "visitor_presence",
                          "field_usage_channel_daily", "field_usage_dataset_daily", "operation_daily"):
                client.command(f"TRUNCATE TABLE {table}")
        print(f"filling {args.events:,} events into {data_dir} ...", flush=True)
        started = time.perf_counter()
        fill(client, args.events)
        client.command("OPTIMIZE TABLE usage_daily FINAL")
        print(f"filled in {time.perf_counter() - started:.0f} s", flush=True)
    daily_rows = client.query("SELECT count() FROM usage_daily").result_rows[0][0]
    print(f"access_log {args.events:,} events; usage_daily {daily_rows:,} rows")
    period = ReportFilters(UNTIL - timedelta(days=DAYS - 1), UNTIL)
    variants = {
        "all": period,
        "agency": ReportFilters(period.date_from, period.date_to, agency_id="A7"),
        "kind+channel": ReportFilters(period.date_from, period.date_to, consumer_kind="anonymous",
                                      channel="download"),
    }
    print(f"{'function':22s}" + "".join(f"{name:>16s}" for name in variants) + "   (median ms of 3)")
    worst = 0.0
    for name in FUNCTIONS:
        times = [time_call(getattr(usage, name), client, filters) for filters in variants.values()]
        worst = max(worst, *times)
        print(f"{name:22s}" + "".join(f"{t:16.0f}" for t in times))
    report = time_call(usage.consumer_usage_report, client, "C42", period.date_from, period.date_to)
    worst = max(worst, report)
    print(f"{'consumer_usage_report':22s}{report:16.0f}")
    print(f"slowest: {worst:.0f} ms (target <= 300 ms)")


if __name__ == "__main__":
    main()
