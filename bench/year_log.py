"""A year of a city platform's access log (~100 M events), generated to disk one week at a time.

Used by `bench/detect.py --scale year`: each week is written as a Parquet file, loaded into
`access_log` with the client's Arrow insert (the rollups fill as they do on ingest), and deleted,
so the disk holds one week of files at a time besides the warehouse. The traffic is the
background of a platform (20,000 registered consumers, 200,000 visitors, 3,000 datasets, the
daily and weekly rhythm, a few errors, pages of 20 to 100 rows, downloads) with some work
for the detectors every day (a scraper, a burst, scanners, an injection attempt). The
accuracy of the detectors is measured elsewhere; this is for time and memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
from clickhouse_connect.driver.client import Client

from demo.traffic import HOUR_CDF, STATUS_CDF, STATUS_CODES, day_factors
from odwatch.clock import SHANGHAI

CONSUMERS = 20_000
VISITORS = 200_000
DATASETS = 3_000
AGENTS = [
    "python-requests/2.31.0",
    "okhttp/4.12.0",
    "Apache-HttpClient/4.5.14 (Java/17.0.8)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0",
    "Mozilla/5.0 (iPhone) Safari/605.1",
]


def _zipf_cdf(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return np.cumsum(weights[rng.permutation(n)] / weights.sum())


def _day(day: date, events: int, rng: np.random.Generator, cdfs: dict[str, np.ndarray]) -> pl.DataFrame:
    """One day of calls as the columns of access_log."""
    registered = rng.random(events) < 0.6
    consumer = np.minimum(np.searchsorted(cdfs["consumers"], rng.random(events)), CONSUMERS - 1)
    visitor = np.minimum(np.searchsorted(cdfs["visitors"], rng.random(events)), VISITORS - 1)
    dataset = np.minimum(np.searchsorted(cdfs["datasets"], rng.random(events)), DATASETS - 1)
    hour = np.searchsorted(HOUR_CDF, rng.random(events), side="right")
    start = int(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).timestamp() * 1000)
    ts = start + hour * 3_600_000 + rng.integers(0, 3_600_000, events)
    status = STATUS_CODES[np.searchsorted(STATUS_CDF, rng.random(events), side="right")]
    download = rng.random(events) < 0.05
    size = np.array([20, 50, 100])[rng.integers(0, 3, events)]
    page = 1 + np.minimum(rng.geometric(0.55, events) - 1, 7)
    rows = np.where(status < 400, np.where(download, 20_000, size), 0)
    frame = pl.DataFrame(
        {
            "ts": ts,
            "registered": registered,
            "consumer": consumer,
            "visitor": visitor,
            "dataset": dataset,
            "status": status.astype(np.uint16),
            "download": download,
            "size": size,
            "page": page,
            "rows": rows.astype(np.uint64),
            "latency": rng.lognormal(np.log(70.0), 0.5, events).astype(np.uint32),
            "agent": rng.integers(0, len(AGENTS), events),
        }
    )
    return frame.select(
        event_id=pl.lit(f"y{day:%Y%m%d}-") + pl.int_range(0, events).cast(pl.String),
        ts=pl.from_epoch("ts", "ms").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Shanghai"),
        consumer_id=pl.when("registered")
        .then(pl.lit("y") + pl.col("consumer").cast(pl.String))
        .otherwise(pl.lit("")),
        key_id=pl.when("registered")
        .then(pl.lit("yk") + pl.col("consumer").cast(pl.String))
        .otherwise(pl.lit("")),
        dataset_id=pl.lit("yd") + pl.col("dataset").cast(pl.String),
        channel=pl.when("download").then(pl.lit("download")).otherwise(pl.lit("api")),
        endpoint=pl.lit("/api/v1/datasets/yd")
        + pl.col("dataset").cast(pl.String)
        + pl.when("download").then(pl.lit("/download")).otherwise(pl.lit("/records")),
        method=pl.lit("GET"),
        status="status",
        latency_ms="latency",
        rows="rows",
        bytes=pl.col("rows") * 180 + 400,
        fields=pl.lit([], dtype=pl.List(pl.String)),
        scenario=pl.lit(""),
        client_ip=pl.when("registered")
        .then(
            pl.lit("10.")
            + (pl.col("consumer") // 250).cast(pl.String)
            + "."
            + (pl.col("consumer") % 250).cast(pl.String)
            + ".7"
        )
        .otherwise(
            pl.lit("114.")
            + (80 + pl.col("visitor") // 65_000).cast(pl.String)
            + "."
            + (pl.col("visitor") // 250 % 250).cast(pl.String)
            + "."
            + (1 + pl.col("visitor") % 250).cast(pl.String)
        ),
        user_agent=pl.col("agent").replace_strict(list(range(len(AGENTS))), AGENTS, return_dtype=pl.String),
        params=pl.when("download")
        .then(pl.lit('{"format":"csv"}'))
        .otherwise(
            pl.lit('{"page":')
            + pl.col("page").cast(pl.String)
            + ',"page_size":'
            + pl.col("size").cast(pl.String)
            + "}"
        ),
        batch_id=pl.lit("year"),
    )


def _misuse(day: date, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """A day's work for the detectors: a scraper's walk, an hour's burst, scanners, an injection."""
    start = datetime(day.year, day.month, day.day, 2, tzinfo=SHANGHAI)
    rows = []
    for page in range(1, 301):
        rows.append(
            (
                start + timedelta(seconds=30 * page),
                "",
                f"yd{n % DATASETS}",
                f"/api/v1/datasets/yd{n % DATASETS}/records",
                200,
                100,
                f"45.133.{n % 250}.9",
                json.dumps({"page": page, "page_size": 100}),
                "Scrapy/2.11.0",
            )
        )
    for k in range(400):
        rows.append(
            (
                start + timedelta(hours=9, seconds=9 * k),
                f"y{n % CONSUMERS}",
                "yd1",
                "/api/v1/datasets/yd1/records",
                200,
                20,
                "10.0.0.7",
                '{"page":1,"page_size":20}',
                AGENTS[0],
            )
        )
    for k, path in enumerate(["/wp-login.php", "/.env", "/admin.php"]):
        rows.append(
            (
                start + timedelta(hours=3, seconds=k),
                "",
                "",
                path,
                404,
                0,
                f"185.220.{n % 250}.{k + 1}",
                "{}",
                "Mozilla/5.0 zgrab/0.x",
            )
        )
    rows.append(
        (
            start + timedelta(hours=20),
            "",
            "yd2",
            "/api/v1/datasets/yd2/records",
            200,
            20,
            f"91.240.{n % 250}.4",
            json.dumps({"q": "1' UNION SELECT user, pass FROM users--"}),
            AGENTS[1],
        )
    )
    ts, consumer, dataset, endpoint, status, taken, ip, params, agent = zip(*rows, strict=True)
    return pl.DataFrame(
        {
            "event_id": [f"m{day:%Y%m%d}-{i}" for i in range(len(rows))],
            "ts": list(ts),
            "consumer_id": list(consumer),
            "key_id": [f"yk{c[1:]}" if c else "" for c in consumer],
            "dataset_id": list(dataset),
            "channel": "api",
            "endpoint": list(endpoint),
            "method": "GET",
            "status": list(status),
            "latency_ms": 60,
            "rows": list(taken),
            "bytes": [t * 180 + 400 for t in taken],
            "fields": [[]] * len(rows),
            "scenario": "",
            "client_ip": list(ip),
            "user_agent": list(agent),
            "params": list(params),
            "batch_id": "year",
        },
        schema_overrides={
            "status": pl.UInt16,
            "latency_ms": pl.UInt32,
            "rows": pl.UInt64,
            "bytes": pl.UInt64,
            "fields": pl.List(pl.String),
            "ts": pl.Datetime("us", "Asia/Shanghai"),
        },
    )


def load_year(
    client: Client,
    last_day: date,
    events: int = 100_000_000,
    seed: int = 7,
    progress: Callable[[int, int, int], None] | None = None,
) -> int:
    """Generate the year up to `last_day` week by week through a Parquet file and load it; returns the
    events loaded."""
    rng = np.random.default_rng(seed)
    cdfs = {
        "consumers": _zipf_cdf(CONSUMERS, 1.0, rng),
        "visitors": _zipf_cdf(VISITORS, 0.8, rng),
        "datasets": _zipf_cdf(DATASETS, 0.9, rng),
    }
    days = [last_day - timedelta(days=364 - i) for i in range(365)]
    factors = day_factors(days)
    per_day = events * factors / factors.sum()
    loaded = 0
    with tempfile.TemporaryDirectory(prefix="odwatch-year-") as scratch:
        path = Path(scratch) / "week.parquet"
        for week in range(0, len(days), 7):
            frames = []
            for offset, day in enumerate(days[week : week + 7], start=week):
                frames.append(_day(day, int(per_day[offset]), rng, cdfs))
                frames.append(_misuse(day, offset, rng))
            table = (
                pl.concat(frames, how="vertical_relaxed")
                .with_columns(pl.col("ts").dt.cast_time_unit("ms"))
                .to_arrow()
            )
            pq.write_table(table, path)  # the week on disk, as a platform would hand it over
            client.insert_arrow("access_log", pq.read_table(path))
            loaded += table.num_rows
            path.unlink()
            if progress:
                progress(min(week + 7, len(days)), len(days), loaded)
    return loaded
