"""Access-log traffic of the demo platform, generated day by day with numpy and written as JSONL.

Lawful traffic is a set of *streams* (a consumer or an anonymous address using one dataset at a
rate). Each day every stream draws a Poisson number of calls scaled by the day's factor
(weekends and statutory holidays are quieter) and capped under its agreement's quota; the calls
get an hour from the daily rhythm, an address, fields and a scenario from the stream's own
lawful choices. Calls that would fall in a dataset's suspension are dropped. Misuse episodes
arrive as ready-made event batches and are merged into the day they belong to.

Strings live in one `Interner` as JSON text, so a line is assembled by polars `concat_str`
from integer codes without any per-row Python.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from demo.catalog import SHANGHAI
from odwatch.calendar import is_statutory_holiday, is_working_day

MS_HOUR = 3_600_000
MS_DAY = 24 * MS_HOUR
LINES_PER_FILE = 1_000_000

COLUMNS = {
    "ts": np.int64,
    "consumer": np.int32,
    "key": np.int32,
    "dataset": np.int32,
    "channel": np.int8,
    "endpoint": np.int32,
    "method": np.int8,
    "status": np.int16,
    "latency": np.int32,
    "rows": np.int64,
    "bytes": np.int64,
    "fields": np.int32,
    "scenario": np.int32,
    "ip": np.int32,
    "ua": np.int32,
    "pkind": np.int8,
    "page": np.int64,
    "size": np.int32,
    "pjson": np.int32,
}
PAGE, OFFSET, CUSTOM = 0, 1, 2
STREAM_KINDS = ("agreement", "episode", "consumer", "anonymous")
CHANNELS = ("api", "download")
METHODS = ("GET", "POST")

# Share of a day's calls per hour: peaks 9-11h and 14-17h, quiet at night.
HOUR_WEIGHTS = np.array(
    [
        0.15,
        0.10,
        0.08,
        0.07,
        0.07,
        0.12,
        0.30,
        0.70,
        1.60,
        3.20,
        3.40,
        2.80,
        1.50,
        2.00,
        3.00,
        3.20,
        3.00,
        2.00,
        1.10,
        0.90,
        0.80,
        0.60,
        0.40,
        0.25,
    ]
)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
STATUS_CODES = np.array([200, 400, 429, 404, 500, 503], dtype=np.int16)
STATUS_P = np.array([0.986, 0.004, 0.004, 0.001, 0.003, 0.002])
# Cumulative shares (last edge open) for drawing by searchsorted, much faster than choice(p=...).
HOUR_CDF = np.cumsum(HOUR_P)[:-1]
STATUS_CDF = np.cumsum(STATUS_P)[:-1]


class Interner:
    """Every string of the log once, as JSON text; events carry integer codes."""

    def __init__(self) -> None:
        self.items: list[str] = ['""']
        self._codes: dict[str, int] = {'""': 0}

    def _code(self, text: str) -> int:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.items)
            self.items.append(text)
        return code

    def s(self, value: str) -> int:
        """Code of a plain string."""
        return self._code(json.dumps(value, ensure_ascii=False))

    def j(self, value: object) -> int:
        """Code of a JSON value (list or object) written as is."""
        return self._code(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def empty_batch() -> dict[str, np.ndarray]:
    return {name: np.zeros(0, dtype=dtype) for name, dtype in COLUMNS.items()}


def make_batch(n: int, **columns: object) -> dict[str, np.ndarray]:
    """A batch of n events; each column a scalar (broadcast) or an array of length n."""
    batch = {}
    for name, dtype in COLUMNS.items():
        value = columns.pop(name, 0)
        batch[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
    if columns:
        raise TypeError(f"unknown event columns: {sorted(columns)}")
    return batch


def concat_batches(batches: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not batches:
        return empty_batch()
    return {name: np.concatenate([b[name] for b in batches]) for name in COLUMNS}


def take(batch: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[index] for name, values in batch.items()}


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def day_start_ms(day: date) -> int:
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))


# ---------------------------------------------------------------- lawful streams


@dataclass
class Stream:
    consumer: int
    key: int
    dataset: int
    rate: float  # expected calls on a working day
    day_lo: int  # first and last active day (index into the log window)
    day_hi: int
    ips: tuple[int, int, int]
    scenarios: tuple[int, int, int]
    fields: tuple[int, int, int]
    ua: int
    page_size: int
    offset_style: bool
    p_download: float
    download_rows: int
    bytes_per_row: int
    cap: int  # most calls in a day (under the agreement's quota)
    records_endpoint: int
    download_endpoint: int
    kind: str = "consumer"  # one of STREAM_KINDS


@dataclass
class StreamTable:
    """Streams as columns, for vectorised daily draws."""

    rate: np.ndarray
    day_lo: np.ndarray
    day_hi: np.ndarray
    cap: np.ndarray
    consumer: np.ndarray
    key: np.ndarray
    dataset: np.ndarray
    ips: np.ndarray
    scenarios: np.ndarray
    fields: np.ndarray
    ua: np.ndarray
    page_size: np.ndarray
    offset_style: np.ndarray
    p_download: np.ndarray
    download_rows: np.ndarray
    bytes_per_row: np.ndarray
    records_endpoint: np.ndarray
    download_endpoint: np.ndarray
    kind: np.ndarray  # STREAM_KINDS index: calibration rescales some kinds only

    @classmethod
    def from_streams(cls, streams: list[Stream]) -> StreamTable:
        def col(name: str, dtype: type) -> np.ndarray:
            return np.array([getattr(s, name) for s in streams], dtype=dtype)

        return cls(
            kind=np.array([STREAM_KINDS.index(s.kind) for s in streams], dtype=np.int8),
            rate=col("rate", np.float64),
            day_lo=col("day_lo", np.int32),
            day_hi=col("day_hi", np.int32),
            cap=col("cap", np.int64),
            consumer=col("consumer", np.int32),
            key=col("key", np.int32),
            dataset=col("dataset", np.int32),
            ips=np.array([s.ips for s in streams], dtype=np.int32),
            scenarios=np.array([s.scenarios for s in streams], dtype=np.int32),
            fields=np.array([s.fields for s in streams], dtype=np.int32),
            ua=col("ua", np.int32),
            page_size=col("page_size", np.int32),
            offset_style=col("offset_style", bool),
            p_download=col("p_download", np.float64),
            download_rows=col("download_rows", np.int64),
            bytes_per_row=col("bytes_per_row", np.int64),
            records_endpoint=col("records_endpoint", np.int32),
            download_endpoint=col("download_endpoint", np.int32),
        )

    @classmethod
    def concat(cls, tables: list[StreamTable]) -> StreamTable:
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: np.concatenate([getattr(t, name) for t in tables]) for name in names})


def day_factors(days: list[date]) -> np.ndarray:
    """Working days 1.0, weekends 0.3, statutory holidays 0.25."""
    return np.array([1.0 if is_working_day(d)[0] else (0.25 if is_statutory_holiday(d) else 0.3)
                     for d in days])


def expected_calls(
    rate: np.ndarray, day_lo: np.ndarray, day_hi: np.ndarray, factors: np.ndarray
) -> np.ndarray:
    """Expected calls of each stream over the window (rate times the active days' factors)."""
    cumulative = np.concatenate([[0.0], np.cumsum(factors)])
    lo = np.clip(day_lo, 0, len(factors))
    hi = np.clip(day_hi + 1, 0, len(factors))
    return rate * np.maximum(cumulative[hi] - cumulative[lo], 0.0)


@dataclass
class DayContext:
    """What a day's draw needs besides the streams."""

    index: int
    day: date
    factor: float
    start_ms: int
    suspensions: list[tuple[int, int, int]] = field(default_factory=list)  # dataset code, from ms, to ms


def lawful_day(
    table: StreamTable, ctx: DayContext, rng: np.random.Generator, params_download: tuple[int, int]
) -> dict[str, np.ndarray]:
    """One day of lawful traffic from every active stream."""
    active = (table.day_lo <= ctx.index) & (table.day_hi >= ctx.index)
    lam = np.where(active, table.rate * ctx.factor, 0.0)
    counts = np.minimum(rng.poisson(lam), table.cap)
    stream = np.repeat(np.arange(len(counts)), counts)
    n = len(stream)
    hour = np.searchsorted(HOUR_CDF, rng.random(n), side="right")
    ts = ctx.start_ms + hour * MS_HOUR + rng.integers(0, MS_HOUR, n)
    pick = rng.integers(0, 3, (3, n))
    download = (rng.random(n) < table.p_download[stream]) & (hour >= 7)
    status = STATUS_CODES[np.searchsorted(STATUS_CDF, rng.random(n), side="right")]
    ok = status < 400
    size = table.page_size[stream]
    page = 1 + np.minimum(rng.geometric(0.55, n) - 1, 7)
    rows = np.where(download, table.download_rows[stream], size)
    rows = np.where(ok, rows, 0)
    latency = rng.lognormal(np.log(np.where(download, 420.0, 70.0)), 0.5) + rows / 4000
    latency = np.where(status >= 500, latency + 2000, latency)
    pkind = np.where(download, CUSTOM, np.where(table.offset_style[stream], OFFSET, PAGE))
    pjson = np.where(rng.random(n) < 0.5, params_download[0], params_download[1])
    batch = make_batch(
        n,
        ts=ts,
        consumer=table.consumer[stream],
        key=table.key[stream],
        dataset=table.dataset[stream],
        channel=download.astype(np.int8),
        endpoint=np.where(download, table.download_endpoint[stream], table.records_endpoint[stream]),
        method=0,
        status=status,
        latency=latency.astype(np.int32),
        rows=rows,
        bytes=rows * table.bytes_per_row[stream] + 380 + rng.integers(0, 200, n),
        fields=table.fields[stream, pick[0]],
        scenario=table.scenarios[stream, pick[1]],
        ip=table.ips[stream, pick[2]],
        ua=table.ua[stream],
        pkind=pkind,
        page=page,
        size=size,
        pjson=np.where(download, pjson, 0),
    )
    return _drop_suspended(batch, ctx.suspensions)


def _drop_suspended(
    batch: dict[str, np.ndarray], suspensions: list[tuple[int, int, int]]
) -> dict[str, np.ndarray]:
    """Lawful traffic stops while a dataset is suspended (第二十六条)."""
    if not suspensions:
        return batch
    keep = np.ones(len(batch["ts"]), dtype=bool)
    for dataset, start, end in suspensions:
        keep &= ~((batch["dataset"] == dataset) & (batch["ts"] >= start) & (batch["ts"] < end))
    return take(batch, np.flatnonzero(keep))


# ---------------------------------------------------------------- writing


# Columns written from the interner, each rendered once with its key in front.
RENDERED = {
    "consumer": ',"consumer_id":',
    "key": ',"key_id":',
    "dataset": ',"dataset_id":',
    "endpoint": ',"endpoint":',
    "fields": ',"fields":',
    "scenario": ',"scenario":',
    "ip": ',"client_ip":',
    "ua": ',"user_agent":',
    "pjson": ',"params":',
}


def render_strings(items: list[str]) -> dict[str, pl.Series]:
    strings = pl.Series(items, dtype=pl.String)
    return {column: (prefix + strings).alias(column) for column, prefix in RENDERED.items()}


def _lines(
    batch: dict[str, np.ndarray], rendered: dict[str, pl.Series], first_id: int, id_prefix: str
) -> pl.DataFrame:
    """One JSON line per event. concat_str costs per piece, so keys travel inside the pieces."""
    n = len(batch["ts"])
    frame = pl.DataFrame({name: batch[name] for name in COLUMNS if name not in RENDERED or name == "pjson"})
    frame = frame.with_columns([rendered[c].gather(pl.Series(batch[c])) for c in RENDERED if c != "pjson"])
    kind = pl.col("pkind")
    paged = kind != CUSTOM
    first = pl.when(kind == PAGE).then(pl.col("page")).otherwise((pl.col("page") - 1) * pl.col("size"))
    params = [
        pl.when(kind == PAGE)
        .then(pl.lit(',"params":{"page":'))
        .when(kind == OFFSET)
        .then(pl.lit(',"params":{"offset":'))
        .otherwise(
            pl.col("pjson").map_batches(lambda c: rendered["pjson"].gather(c), return_dtype=pl.String)
        ),
        pl.when(paged).then(first.cast(pl.String)).otherwise(pl.lit("")),
        pl.when(kind == PAGE)
        .then(pl.lit(',"page_size":'))
        .when(kind == OFFSET)
        .then(pl.lit(',"limit":'))
        .otherwise(pl.lit("")),
        pl.when(paged).then(pl.col("size").cast(pl.String)).otherwise(pl.lit("")),
        pl.when(paged).then(pl.lit("}}")).otherwise(pl.lit("}")),
    ]
    line = pl.concat_str(
        [
            pl.lit('{"event_id":"' + id_prefix),
            pl.int_range(first_id, first_id + n, dtype=pl.Int64).cast(pl.String).str.zfill(10),
            pl.from_epoch(pl.col("ts") + 8 * MS_HOUR, "ms").dt.strftime(
                '","ts":"%Y-%m-%dT%H:%M:%S%.3f+08:00"'
            ),
            pl.col("consumer"),
            pl.col("key"),
            pl.col("dataset"),
            pl.when(pl.col("channel") == 1)
            .then(pl.lit(',"channel":"download"'))
            .otherwise(pl.lit(',"channel":"api"')),
            pl.col("endpoint"),
            pl.when(pl.col("method") == 1)
            .then(pl.lit(',"method":"POST","status":'))
            .otherwise(pl.lit(',"method":"GET","status":')),
            pl.col("status").cast(pl.String),
            pl.lit(',"latency_ms":'),
            pl.col("latency").cast(pl.String),
            pl.lit(',"rows":'),
            pl.col("rows").cast(pl.String),
            pl.lit(',"bytes":'),
            pl.col("bytes").cast(pl.String),
            pl.col("fields"),
            pl.col("scenario"),
            pl.col("ip"),
            pl.col("ua"),
            *params,
        ]
    ).alias("line")
    return frame.select(line)


class LogWriter:
    """Appends day batches to access_log_NNN.jsonl files of about a million lines each."""

    def __init__(self, directory: Path, id_prefix: str, interner: Interner) -> None:
        self.directory = directory
        self.id_prefix = id_prefix
        self.interner = interner
        self.files: list[Path] = []
        self.events = 0
        self._handle = None
        self._in_file = 0
        self._rendered: dict[str, pl.Series] | None = None
        self._rendered_size = 0

    def _rotate(self) -> None:
        if self._handle:
            self._handle.close()
        path = self.directory / f"access_log_{len(self.files) + 1:03d}.jsonl"
        self.files.append(path)
        self._handle = open(path, "wb")  # noqa: SIM115 - closed by close() or the next rotation
        self._in_file = 0

    def write(self, batch: dict[str, np.ndarray]) -> None:
        order = np.argsort(batch["ts"], kind="stable")
        batch = take(batch, order)
        if self._rendered is None or self._rendered_size != len(self.interner.items):
            self._rendered = render_strings(self.interner.items)
            self._rendered_size = len(self.interner.items)
        start = 0
        while start < len(order):
            if self._handle is None or self._in_file >= LINES_PER_FILE:
                self._rotate()
            stop = min(len(order), start + LINES_PER_FILE - self._in_file)
            part = {name: values[start:stop] for name, values in batch.items()}
            _lines(part, self._rendered, self.events, self.id_prefix).write_csv(
                self._handle, include_header=False, quote_style="never"
            )
            self.events += stop - start
            self._in_file += stop - start
            start = stop

    def close(self) -> list[Path]:
        if self._handle:
            self._handle.close()
            self._handle = None
        return self.files


def window_days(start: date, count: int) -> Iterator[tuple[int, date]]:
    for i in range(count):
        yield i, start + timedelta(days=i)
