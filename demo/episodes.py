"""Labelled misuse episodes of the demo platform, one generator per alert category.

Each generator follows contracts.md "Episode semantics": it picks (or creates) the entity,
adds the lawful background the entity needs (a daytime baseline, an agreement), emits the
episode's calls as an event batch, and returns the ground-truth row. Entities are not shared
between episodes, so an alert of another category on an episode entity still overlaps that
episode, and lawful entities stay clean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from demo import vocab
from demo.catalog import (
    SHANGHAI,
    Platform,
    add_agreement,
    add_complaint,
    add_consumer,
    at,
)
from demo.traffic import (
    CUSTOM,
    HOUR_P,
    MS_HOUR,
    OFFSET,
    PAGE,
    Interner,
    Stream,
    day_start_ms,
    make_batch,
)
from odwatch.calendar import is_statutory_holiday, is_working_day

FILE_FORMATS = ("csv", "json", "xml", "xlsx", "pdf", "doc", "other")
ML_ENDPOINTS = (
    "records",
    "schema",
    "stats",
    "export",
    "search",
    "fields",
    "meta",
    "versions",
    "sample",
    "changes",
    "query",
    "count",
)
ML_AGENTS = (
    "Mozilla/5.0 (compatible; DataHarvest/0.3)",
    "Java/1.6.0_45",
    "Python-urllib/2.7",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Jakarta Commons-HttpClient/3.1",
    "Ruby",
    "PHP/5.4.16",
    "Dalvik/2.1.0 (Linux; U; Android 5.1)",
)


@dataclass
class Who:
    """The entity making calls: a consumer with its key, addresses and client, or an anonymous address."""

    consumer_id: str
    key_id: str
    ips: list[str]
    user_agent: str


@dataclass
class Generation:
    """Shared state while planning: the platform, string codes, lawful streams and episode events."""

    platform: Platform
    interner: Interner
    rng: np.random.Generator
    days: list[date]
    streams: list[Stream] = field(default_factory=list)
    batches: list[dict[str, np.ndarray]] = field(default_factory=list)
    episodes: list[dict] = field(default_factory=list)
    used_consumers: set[str] = field(default_factory=set)
    used_datasets: set[str] = field(default_factory=set)
    consumer_ua: dict[str, str] = field(default_factory=dict)
    _episode_ip_slot: int = 200 * 254

    # ------------------------------------------------------------ picking

    def choice(self, items: list) -> object:
        return items[int(self.rng.integers(len(items)))]

    def episode_day(self, workday: bool = True, lo: int = 40, hi: int = 6) -> int:
        """A day index far enough in to have a baseline, and a few days before the end."""
        for _ in range(200):
            index = int(self.rng.integers(lo, len(self.days) - hi))
            if not workday or is_working_day(self.days[index])[0]:
                return index
        return index

    def unconditional(self, downloadable: bool = False, min_rows: int = 0) -> list[dict]:
        return [
            d
            for d in self.platform.datasets
            if d["open_class"] == "unconditional"
            and d["status"] == "open"
            and d["dataset_id"] not in self.used_datasets
            and d["row_count"] >= min_rows
            and (not downloadable or d["format"] in FILE_FORMATS)
        ]

    def never_suspended(self, downloadable: bool = False, min_rows: int = 0) -> list[dict]:
        """Unconditional datasets no complaint ever suspended: lawful traffic written as events (not
        streams, whose calls in a suspension are dropped) may use them on any day."""
        complained = {c["dataset_id"] for c in self.platform.complaints}
        return [d for d in self.unconditional(downloadable, min_rows) if d["dataset_id"] not in complained]

    def free_consumer(self, kinds: tuple[str, ...] = ("company", "organisation", "person")) -> dict:
        pool = [
            c
            for c in self.platform.consumers
            if c["kind"] in kinds and c["consumer_id"] not in self.used_consumers
        ]
        consumer = self.choice(pool)
        self.used_consumers.add(consumer["consumer_id"])
        return consumer

    def new_consumer(self, kind: str, registered: date, name: str | None = None) -> dict:
        consumer = add_consumer(self.platform, self.rng, kind, registered, name)
        self.used_consumers.add(consumer["consumer_id"])
        return consumer

    def who(self, consumer: dict) -> Who:
        cid = consumer["consumer_id"]
        return Who(
            cid, self.platform.consumer_key[cid], self.platform.consumer_ips[cid], self.user_agent(cid)
        )

    def user_agent(self, consumer_id: str) -> str:
        if consumer_id not in self.consumer_ua:
            self.consumer_ua[consumer_id] = vocab.USER_AGENTS[int(self.rng.integers(len(vocab.USER_AGENTS)))]
        return self.consumer_ua[consumer_id]

    def episode_ip(
        self, nets: tuple[tuple[int, int], ...] = vocab.CLOUD_NETS, avoid16: set[str] | None = None
    ) -> str:
        """A fresh address used by nobody else (third octet 200+ is kept for episodes)."""
        while True:
            self._episode_ip_slot += 1
            net = nets[int(self.rng.integers(len(nets)))]
            if avoid16 and f"{net[0]}.{net[1]}" in avoid16:
                continue
            slot = self._episode_ip_slot
            return f"{net[0]}.{net[1]}.{200 + (slot // 254) % 54}.{1 + slot % 254}"

    # ------------------------------------------------------------ streams and events

    def baseline(
        self,
        who: Who,
        dataset: dict,
        rate: float,
        day_lo: int,
        day_hi: int,
        fields: list[list[str]] | None = None,
        scenarios: list[str] | None = None,
        cap: int = 10**9,
        kind: str = "episode",
        ips: list[str] | None = None,
    ) -> Stream:
        """A lawful stream for an entity; `kind` decides whether calibration rescales its rate."""
        i = self.interner
        ips = ips or who.ips
        fields = fields or [[], [], []]
        scenarios = scenarios or [""]
        names = [f["name"] for f in dataset["fields"]]
        stream = Stream(
            consumer=i.s(who.consumer_id),
            key=i.s(who.key_id),
            dataset=i.s(dataset["dataset_id"]),
            rate=rate,
            day_lo=day_lo,
            day_hi=day_hi,
            ips=tuple(i.s(ips[k % len(ips)]) for k in range(3)),
            scenarios=tuple(i.s(scenarios[k % len(scenarios)]) for k in range(3)),
            fields=tuple(i.j(fields[k % len(fields)]) for k in range(3)),
            ua=i.s(who.user_agent),
            page_size=int(self.choice([20, 50, 100])),
            offset_style=bool(self.rng.random() < 0.2),
            p_download=0.0
            if dataset["format"] not in FILE_FORMATS or who.consumer_id and scenarios != [""]
            else (0.6 if not who.consumer_id else 0.25),
            download_rows=min(dataset["row_count"], 50_000),
            bytes_per_row=24 * len(names) + 20,
            cap=cap,
            records_endpoint=i.s(records_endpoint(dataset["dataset_id"])),
            download_endpoint=i.s(f"/api/v1/datasets/{dataset['dataset_id']}/download"),
            kind=kind,
        )
        self.streams.append(stream)
        return stream

    def emit(self, who: Who, dataset_id: str | list[str], ts: np.ndarray, **columns: object) -> None:
        """Add episode calls; columns not given take lawful-looking defaults."""
        i = self.interner
        n = len(ts)
        datasets = [dataset_id] if isinstance(dataset_id, str) else dataset_id
        dataset_idx = self.rng.integers(0, len(datasets), n) if len(datasets) > 1 else np.zeros(n, dtype=int)
        codes = np.array([i.s(d) for d in datasets], dtype=np.int32)
        endpoints = np.array([i.s(records_endpoint(d)) for d in datasets], dtype=np.int32)
        ips = np.array([i.s(ip) for ip in who.ips], dtype=np.int32)
        defaults = {
            "consumer": i.s(who.consumer_id),
            "key": i.s(who.key_id),
            "dataset": codes[dataset_idx],
            "endpoint": endpoints[dataset_idx],
            "status": 200,
            "latency": self.rng.lognormal(np.log(80.0), 0.5, n).astype(np.int32),
            "ip": ips[self.rng.integers(0, len(ips), n)],
            "ua": i.s(who.user_agent),
            "pkind": PAGE,
            "page": 1 + np.minimum(self.rng.geometric(0.55, n) - 1, 7),
            "size": 100,
            "fields": i.j([]),
            "scenario": 0,
        }
        defaults.update(columns)
        if "rows" not in columns:
            defaults["rows"] = np.where(np.asarray(defaults["status"]) < 400, defaults["size"], 0)
        if "bytes" not in columns:
            defaults["bytes"] = np.asarray(defaults["rows"], dtype=np.int64) * 200 + 380
        self.batches.append(make_batch(n, ts=ts, **defaults))

    def spread(self, start: datetime, hours: float, n: int) -> np.ndarray:
        """n sorted call times within [start, start + hours)."""
        base = int(start.timestamp() * 1000)
        return np.sort(base + self.rng.integers(0, int(hours * MS_HOUR), n))

    def daytime(self, day_index: int, n: int) -> np.ndarray:
        """n call times on a day following the daily rhythm, never at night."""
        hours = self.rng.choice(24, n, p=_DAY_P)
        return np.sort(
            day_start_ms(self.days[day_index]) + hours * MS_HOUR + self.rng.integers(0, MS_HOUR, n)
        )

    def record(
        self,
        kind: str,
        description: str,
        start: datetime,
        end: datetime,
        consumer_id: str = "",
        key_id: str = "",
        client_ip: str = "",
        dataset_id: str = "",
    ) -> dict:
        row = {
            "episode_id": f"ep-{kind}-{sum(e['episode_type'] == kind for e in self.episodes) + 1:03d}",
            "episode_type": kind,
            "consumer_id": consumer_id,
            "key_id": key_id,
            "client_ip": client_ip,
            "dataset_id": dataset_id,
            "starts_at": start.replace(microsecond=0),
            "ends_at": end.replace(microsecond=0),
            "description": description,
        }
        self.episodes.append(row)
        return row

    def window(self, ts: np.ndarray) -> tuple[datetime, datetime]:
        return (
            datetime.fromtimestamp(int(ts.min()) / 1000, SHANGHAI),
            datetime.fromtimestamp(int(ts.max()) / 1000 + 1, SHANGHAI),
        )


_DAY_WEIGHTS = np.where(np.arange(24) >= 8, HOUR_P, 0.0) * (np.arange(24) <= 19)
_DAY_P = _DAY_WEIGHTS / _DAY_WEIGHTS.sum()


def records_endpoint(dataset_id: str) -> str:
    return f"/api/v1/datasets/{dataset_id}/records"


def _fields_sample(rng: np.random.Generator, names: list[str], k: int | None = None) -> list[str]:
    k = k or int(rng.integers(1, min(4, len(names)) + 1))
    return sorted(rng.choice(names, min(k, len(names)), replace=False).tolist())


def daily_fields(gen: Generation, dataset: dict) -> list[list[str]]:
    names = [f["name"] for f in dataset["fields"]]
    return [[], _fields_sample(gen.rng, names), _fields_sample(gen.rng, names)]


def _agreement_fields(gen: Generation, agreement: dict) -> list[list[str]]:
    return [_fields_sample(gen.rng, agreement["allowed_fields"]) for _ in range(3)]


def _dedicated(
    gen: Generation,
    day: int,
    kind: str = "company",
    rate: tuple[float, float] = (12, 30),
    datasets: int = 2,
    span: tuple[int, int] = (24, 6),
    downloads: bool = True,
) -> tuple[Who, list[dict], float]:
    """A consumer with a steady daytime baseline on a few unconditional datasets around `day`."""
    registered = gen.days[max(0, day - span[0] - 5)] - timedelta(days=int(gen.rng.integers(5, 300)))
    who = gen.who(gen.new_consumer(kind, registered))
    chosen = [gen.choice(gen.unconditional()) for _ in range(datasets)]
    daily = float(gen.rng.uniform(*rate))
    for dataset in chosen:
        gen.baseline(
            who,
            dataset,
            daily / datasets,
            max(0, day - span[0]),
            min(len(gen.days) - 1, day + span[1]),
            fields=daily_fields(gen, dataset),
        )
        if not downloads:
            gen.streams[-1].p_download = 0.0
    return who, chosen, daily


# ---------------------------------------------------------------- malicious call patterns


def scraping(gen: Generation, n: int) -> None:
    anonymous = n % 2 == 0
    # API-only datasets: a walk through a downloadable file would take no more than one download does.
    dataset = gen.choice(
        [d for d in gen.unconditional(min_rows=30_000) if d["format"] == "api"]
        or gen.unconditional(min_rows=30_000)
    )
    gen.used_datasets.add(dataset["dataset_id"])
    day = gen.episode_day(workday=False)
    if anonymous:
        who = Who("", "", [gen.episode_ip()], gen.choice(list(vocab.RARE_USER_AGENTS)))
    else:
        who = gen.who(gen.free_consumer(("company", "person")))
        gen.baseline(
            who,
            dataset,
            float(gen.rng.uniform(3, 8)),
            max(0, day - 30),
            day + 3,
            fields=daily_fields(gen, dataset),
        )
    pages = int(gen.rng.integers(250, 601))
    size = int(min(500, max(50, dataset["row_count"] // pages // 50 * 50 or 50)))
    start = at(gen.days[day], float(gen.rng.uniform(0.5, 15)))
    ts = gen.spread(start, float(gen.rng.uniform(2, 6)), pages)
    status = np.where(gen.rng.random(pages) < 0.02, 429, 200)
    gen.emit(
        who,
        dataset["dataset_id"],
        ts,
        page=np.arange(1, pages + 1),
        size=size,
        status=status,
        pkind=OFFSET if n % 3 == 1 else PAGE,
        fields=gen.interner.j([]),
    )
    gen.record(
        "scraping",
        f"按顺序翻页抓取 {pages} 页（每页 {size} 行），覆盖约 {pages * size} 行",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        who.ips[0] if anonymous else "",
        dataset["dataset_id"],
    )


def burst(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    who, chosen, daily = _dedicated(gen, day)
    hours = int(gen.rng.integers(1, 4))
    per_hour = int(max(80, 25 * daily * HOUR_P.max()))
    # Whole clock hours, so each hour of the burst carries the full rate.
    first = int(gen.rng.integers(9, 17 - hours))
    ts = np.concatenate([gen.spread(at(gen.days[day], first + h), 1.0, per_hour) for h in range(hours)])
    gen.emit(who, [d["dataset_id"] for d in chosen], ts)
    gen.record(
        "burst",
        f"{hours} 小时内调用 {len(ts)} 次，约为其日常小时调用量的 {per_hour / (daily * HOUR_P.max()):.0f} 倍",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
    )


def key_sharing(gen: Generation, n: int) -> None:
    day = gen.episode_day(workday=False)
    who, chosen, _ = _dedicated(gen, day, kind=("company", "organisation")[n % 2], rate=(8, 20), datasets=1)
    own16 = {ip.rsplit(".", 2)[0] for ip in who.ips}
    k = int(gen.rng.integers(5, 10))
    ips: list[str] = []
    nets = list(vocab.ANON_NETS + vocab.CLOUD_NETS)
    gen.rng.shuffle(nets)
    for net in nets:
        if len(ips) == k:
            break
        if f"{net[0]}.{net[1]}" not in own16:
            ips.append(gen.episode_ip((net,)))
    calls = gen.rng.integers(3, 9, k)
    start = at(gen.days[day], float(gen.rng.uniform(8, 20)))
    ts = gen.spread(start, 1.0, int(calls.sum()))
    ip_codes = np.repeat([gen.interner.s(ip) for ip in ips], calls)
    gen.rng.shuffle(ip_codes)
    gen.emit(who, chosen[0]["dataset_id"], ts, ip=ip_codes)
    gen.record(
        "key_sharing",
        f"同一密钥一小时内从 {k} 个不同网段（{', '.join(ips[:3])} 等）调用",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
    )


def probing(gen: Generation, n: int) -> None:
    anonymous = n % 2 == 0
    if anonymous:
        who = Who("", "", [gen.episode_ip()], gen.choice(list(vocab.RARE_USER_AGENTS)))
    else:
        who = gen.who(gen.free_consumer(("company", "person")))
    restricted = [d for d in gen.platform.datasets if d["open_class"] in ("conditional", "closed")]
    targets = [gen.choice(restricted)["dataset_id"] for _ in range(int(gen.rng.integers(15, 40)))]
    targets += [gen.choice(gen.unconditional())["dataset_id"] for _ in range(4)]
    calls = int(gen.rng.integers(80, 200))
    day = gen.episode_day(workday=False)
    ts = gen.spread(at(gen.days[day], float(gen.rng.uniform(0, 22))), float(gen.rng.uniform(1, 2)), calls)
    dataset_ids = np.array(targets)[gen.rng.integers(0, len(targets), calls)]
    open_ids = {d["dataset_id"] for d in gen.platform.datasets if d["open_class"] == "unconditional"}
    denied = 401 if anonymous else 403
    status = np.array([200 if d in open_ids else denied for d in dataset_ids], dtype=np.int16)
    status = np.where(gen.rng.random(calls) < 0.2, 404, status)
    i = gen.interner
    injections = np.array(
        [
            i.j({("q", "filter", "path", "name")[k % 4]: vocab.INJECTIONS[k % len(vocab.INJECTIONS)]})
            for k in range(12)
        ],
        dtype=np.int32,
    )
    inject = gen.rng.random(calls) < 0.4
    endpoints = np.array(
        [
            i.s(records_endpoint(d) + ("/../admin" if s == 404 else ""))
            for d, s in zip(dataset_ids, status, strict=True)
        ],
        dtype=np.int32,
    )
    gen.emit(
        who,
        "",
        ts,
        dataset=np.array([i.s(d) for d in dataset_ids], dtype=np.int32),
        endpoint=endpoints,
        status=status,
        pkind=np.where(inject, CUSTOM, PAGE),
        pjson=injections[gen.rng.integers(0, len(injections), calls)],
        latency=gen.rng.integers(5, 40, calls),
    )
    share = float((status >= 400).mean())
    gen.record(
        "probing",
        f"{calls} 次请求中 {share:.0%} 为 401/403/404，涉及 {len(set(targets))} 个数据集，含注入型参数",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        who.ips[0] if anonymous else "",
    )


def off_hours_bulk(gen: Generation, n: int) -> None:
    holidays = [i for i, d in enumerate(gen.days[30:-3], start=30) if is_statutory_holiday(d)]
    on_holiday = n % 4 == 3 and bool(holidays)
    day = int(gen.choice(holidays)) if on_holiday else gen.episode_day(workday=False)
    who, _, _ = _dedicated(gen, day, rate=(10, 25))
    big = sorted(gen.unconditional(downloadable=True, min_rows=5_000), key=lambda d: -d["row_count"])[:40]
    pulls = [gen.choice(big) for _ in range(int(gen.rng.integers(2, 6)))]
    mean_rows = float(np.mean([d["row_count"] for d in pulls]))
    count = int(min(90, max(20, math.ceil(1_500_000 / mean_rows))))
    start = at(
        gen.days[day], float(gen.rng.uniform(10, 14)) if on_holiday else float(gen.rng.uniform(0.2, 3.0))
    )
    ts = gen.spread(start, float(gen.rng.uniform(1, 3)), count)
    picks = gen.rng.integers(0, len(pulls), count)
    rows = np.array([pulls[p]["row_count"] for p in picks], dtype=np.int64)
    i = gen.interner
    gen.emit(
        who,
        "",
        ts,
        dataset=np.array([i.s(pulls[p]["dataset_id"]) for p in picks], dtype=np.int32),
        endpoint=np.array(
            [i.s(f"/api/v1/datasets/{pulls[p]['dataset_id']}/download") for p in picks], dtype=np.int32
        ),
        channel=1,
        rows=rows,
        bytes=rows * 180 + 400,
        pkind=CUSTOM,
        pjson=i.j({"format": "csv"}),
        latency=(rows // 150 + 800).astype(np.int32),
    )
    when = f"法定节假日（{gen.days[day]}）" if on_holiday else "凌晨"
    gen.record(
        "off_hours_bulk",
        f"{when}批量下载 {count} 次，共 {int(rows.sum())} 行",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
    )


def sybil_harvest(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    candidates = [
        d
        for d in gen.platform.datasets
        if d["open_class"] == "conditional"
        and d["status"] == "open"
        and d["row_count"] >= 25_000
        and d["dataset_id"] not in gen.used_datasets
    ]
    dataset = gen.choice(candidates)
    gen.used_datasets.add(dataset["dataset_id"])
    shared = gen.episode_ip()
    members = int(gen.rng.integers(3, 7))
    # Each member stays well under a scraper's hundreds of pages; together they walk the dataset.
    per_member = int(gen.rng.integers(30, 61))
    start = at(gen.days[day], float(gen.rng.uniform(9, 15)))
    hours = float(gen.rng.uniform(2, 5))
    all_ts = []
    signed_day = gen.days[max(0, day - int(gen.rng.integers(30, 40)))]
    surname = vocab.SURNAMES[int(gen.rng.integers(len(vocab.SURNAMES)))]
    for m in range(members):
        name = f"{surname}{vocab.GIVEN[int(gen.rng.integers(len(vocab.GIVEN)))]}{m + 1}" if n % 2 else None
        consumer = gen.new_consumer("person" if n % 2 else "company", signed_day - timedelta(days=20), name)
        who = gen.who(consumer)
        agreement = add_agreement(
            gen.platform,
            gen.rng,
            consumer["consumer_id"],
            dataset,
            signed_day - timedelta(days=12),
            2.0,
            allowlist=gen.platform.consumer_allowlist[consumer["consumer_id"]] + [shared],
        )
        gen.platform.reserved.add(agreement["agreement_id"])
        fields = _agreement_fields(gen, agreement)
        ts = gen.spread(start, hours, per_member)
        gen.emit(
            Who(who.consumer_id, who.key_id, [shared], who.user_agent),
            dataset["dataset_id"],
            ts,
            page=np.arange(m * per_member + 1, (m + 1) * per_member + 1),
            size=100,
            fields=gen.interner.j(fields[0]),
            scenario=gen.interner.s(agreement["scenarios"][0]),
        )
        all_ts.append(ts)
    ts = np.concatenate(all_ts)
    gen.record(
        "sybil_harvest",
        f"{members} 个账号从同一地址 {shared} 分段翻页（各 {per_member} 页，互不重叠），"
        f"合计 {members * per_member} 页",
        *gen.window(ts),
        client_ip=shared,
        dataset_id=dataset["dataset_id"],
    )


def ml_outlier(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    who, chosen, daily = _dedicated(gen, day, rate=(15, 30), datasets=3, downloads=False)
    agent = f"{ML_AGENTS[n % len(ML_AGENTS)]} r{n}"
    hours = int(gen.rng.integers(2, 4))
    per_hour = int(gen.rng.integers(10, 15))
    first = int(gen.rng.integers(9, 17 - hours))
    ts = np.concatenate([gen.spread(at(gen.days[day], first + h), 1.0, per_hour) for h in range(hours)])
    calls = len(ts)
    extra = [gen.choice(gen.unconditional())["dataset_id"] for _ in range(3)]
    dataset_ids = np.array([d["dataset_id"] for d in chosen] + extra)[np.arange(calls) % 6]
    i = gen.interner
    # Every call a different interface of the API, payloads of ~40 KB a row, mostly slow answers.
    endpoint = np.array(
        [
            i.s(f"/api/v1/datasets/{d}/{ML_ENDPOINTS[k % len(ML_ENDPOINTS)]}")
            for k, d in enumerate(dataset_ids)
        ],
        dtype=np.int32,
    )
    rows = gen.rng.integers(200, 501, calls)
    slow = np.zeros(calls, dtype=bool)
    slow[gen.rng.permutation(calls)[: math.ceil(0.8 * calls)]] = True
    latency = np.where(slow, gen.rng.integers(3000, 9000, calls), gen.rng.integers(60, 300, calls))
    gen.emit(
        Who(who.consumer_id, who.key_id, who.ips, agent),
        "",
        ts,
        dataset=np.array([i.s(d) for d in dataset_ids], dtype=np.int32),
        endpoint=endpoint,
        rows=rows,
        size=500,
        bytes=rows * 40_000 + 380,
        latency=latency,
        method=np.where(gen.rng.random(calls) < 0.3, 1, 0),
    )
    gen.record(
        "ml_outlier",
        f"{hours} 小时内每次调用字节数远超常态、{len(set(endpoint.tolist()))} 个不同接口、"
        f"罕见客户端 {agent}、高延迟占比 {slow.mean():.0%}",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
    )


# ---------------------------------------------------------------- use beyond the agreement


def _active_agreement(gen: Generation, day: int, before: int = 30, after: int = 5) -> dict:
    """A lawful agreement valid from `before` days ahead of `day` to `after` days past it, on a consumer
    no other episode uses."""
    start, end = gen.days[day] - timedelta(days=before), gen.days[min(day + after, len(gen.days) - 1)]
    pool = [
        a
        for a in gen.platform.agreements
        if a["valid_from"] <= start
        and a["valid_to"] >= end
        and a["agreement_id"] not in gen.platform.reserved
        and a["consumer_id"] not in gen.used_consumers
        and gen.platform.dataset(a["dataset_id"])["status"] == "open"
    ]
    agreement = gen.choice(pool)
    gen.platform.reserved.add(agreement["agreement_id"])
    gen.used_consumers.add(agreement["consumer_id"])
    return agreement


def _agreement_who(gen: Generation, agreement: dict) -> Who:
    return gen.who(next(c for c in gen.platform.consumers if c["consumer_id"] == agreement["consumer_id"]))


def _agreement_calls(gen: Generation, agreement: dict, ts: np.ndarray, **columns: object) -> None:
    """Calls that respect the agreement in every respect the caller does not override."""
    i = gen.interner
    fields = columns.pop("fields", None)
    if fields is None:
        fields = i.j(_fields_sample(gen.rng, agreement["allowed_fields"]))
    columns.setdefault("scenario", i.s(agreement["scenarios"][0]))
    gen.emit(
        columns.pop("who", None) or _agreement_who(gen, agreement),
        agreement["dataset_id"],
        ts,
        fields=fields,
        **columns,
    )


def no_agreement(gen: Generation, n: int) -> None:
    consumer = gen.free_consumer(("company", "organisation"))
    held = {a["dataset_id"] for a in gen.platform.agreements if a["consumer_id"] == consumer["consumer_id"]}
    dataset = gen.choice(
        [
            d
            for d in gen.platform.datasets
            if d["open_class"] == "conditional"
            and d["status"] == "open"
            and d["dataset_id"] not in held | gen.used_datasets
        ]
    )
    gen.used_datasets.add(dataset["dataset_id"])
    who = gen.who(consumer)
    day = gen.episode_day()
    days = int(gen.rng.integers(1, 4))
    ts = np.concatenate(
        [gen.daytime(min(day + k, len(gen.days) - 1), int(gen.rng.integers(5, 15))) for k in range(days)]
    )
    names = [f["name"] for f in dataset["fields"]]
    gen.emit(
        who,
        dataset["dataset_id"],
        ts,
        fields=gen.interner.j(_fields_sample(gen.rng, names)),
        scenario=gen.interner.s(gen.choice(list(vocab.SCENARIOS))),
    )
    gen.record(
        "no_agreement",
        f"未签订数据利用协议即调用有条件开放数据 {len(ts)} 次",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        dataset_id=dataset["dataset_id"],
    )


def outside_validity(gen: Generation, n: int) -> None:
    after = n % 3 != 2
    day = gen.episode_day(workday=False, lo=40, hi=20)
    agreement = _active_agreement(gen, day, after=15)
    who = _agreement_who(gen, agreement)
    boundary = gen.days[day]
    if after:
        agreement["valid_to"] = boundary
        days = [boundary + timedelta(days=k) for k in range(1, int(gen.rng.integers(3, 12)))]
    else:
        agreement["valid_from"] = boundary
        agreement["signed_at"] = at(boundary - timedelta(days=int(gen.rng.integers(3, 10))), 10.5)
        agreement["valid_to"] = boundary + timedelta(days=364)
        days = [boundary - timedelta(days=k) for k in range(int(gen.rng.integers(2, 8)), 0, -1)]
    ts = np.concatenate(
        [gen.daytime(gen.days.index(d), int(gen.rng.integers(2, 8))) for d in days if d in gen.days]
    )
    _agreement_calls(gen, agreement, ts, who=who)
    side = f"协议到期（{agreement['valid_to']}）后" if after else f"协议生效（{agreement['valid_from']}）前"
    gen.record(
        "outside_validity",
        f"{side}继续调用 {len(ts)} 次",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        dataset_id=agreement["dataset_id"],
    )


def fields_outside_agreement(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    agreement = _active_agreement(gen, day)
    names = [f["name"] for f in gen.platform.dataset(agreement["dataset_id"])["fields"]]
    outside = [f for f in names if f not in agreement["allowed_fields"]]
    extra = sorted(
        gen.rng.choice(outside, min(len(outside), int(gen.rng.integers(1, 3))), replace=False).tolist()
    )
    ts = np.concatenate(
        [gen.daytime(day + k, int(gen.rng.integers(4, 12))) for k in range(int(gen.rng.integers(1, 3)))]
    )
    requested = _fields_sample(gen.rng, agreement["allowed_fields"]) + extra
    _agreement_calls(gen, agreement, ts, fields=gen.interner.j(requested))
    gen.record(
        "fields_outside_agreement",
        f"请求协议外字段 {', '.join(extra)}，共 {len(ts)} 次",
        *gen.window(ts),
        agreement["consumer_id"],
        gen.platform.consumer_key[agreement["consumer_id"]],
        dataset_id=agreement["dataset_id"],
    )


def scenario_mismatch(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    agreement = _active_agreement(gen, day)
    scenario = gen.choice([s for s in vocab.SCENARIOS if s not in agreement["scenarios"]])
    ts = np.concatenate(
        [gen.daytime(day + k, int(gen.rng.integers(4, 12))) for k in range(int(gen.rng.integers(1, 3)))]
    )
    _agreement_calls(gen, agreement, ts, scenario=gen.interner.s(scenario))
    gen.record(
        "scenario_mismatch",
        f"申报场景 {scenario} 不在协议约定场景 {', '.join(agreement['scenarios'])} 内，共 {len(ts)} 次",
        *gen.window(ts),
        agreement["consumer_id"],
        gen.platform.consumer_key[agreement["consumer_id"]],
        dataset_id=agreement["dataset_id"],
    )


def quota_exceeded(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    agreement = _active_agreement(gen, day)
    quota = agreement["daily_call_quota"]
    by_rows = n % 2 == 1
    calls = math.ceil(quota * 0.3) if by_rows else math.ceil(quota * float(gen.rng.uniform(1.25, 1.6)))
    size = 500 if by_rows else 100
    ts = gen.daytime(day, calls)
    _agreement_calls(gen, agreement, ts, size=size)
    what = (
        f"单日返回 {calls * size} 行，超过行数配额 {agreement['daily_row_quota']}"
        if by_rows
        else f"单日调用 {calls} 次以上，超过调用配额 {quota}"
    )
    start = at(gen.days[day], 0)
    gen.record(
        "quota_exceeded",
        what,
        start,
        start + timedelta(days=1) - timedelta(seconds=1),
        agreement["consumer_id"],
        gen.platform.consumer_key[agreement["consumer_id"]],
        dataset_id=agreement["dataset_id"],
    )


def ip_outside_allowlist(gen: Generation, n: int) -> None:
    day = gen.episode_day()
    agreement = _active_agreement(gen, day)
    who = _agreement_who(gen, agreement)
    own16 = {ip.rsplit(".", 2)[0] for ip in who.ips}
    stranger = gen.episode_ip(vocab.CLOUD_NETS + vocab.ANON_NETS, avoid16=own16)
    ts = np.concatenate(
        [gen.daytime(day + k, int(gen.rng.integers(4, 15))) for k in range(int(gen.rng.integers(1, 3)))]
    )
    _agreement_calls(gen, agreement, ts, who=Who(who.consumer_id, who.key_id, [stranger], who.user_agent))
    gen.record(
        "ip_outside_allowlist",
        f"从白名单外地址 {stranger} 调用 {len(ts)} 次",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        stranger,
        agreement["dataset_id"],
    )


def suspended_dataset(gen: Generation, n: int) -> None:
    complained = {c["dataset_id"] for c in gen.platform.complaints}
    dataset = gen.choice([d for d in gen.unconditional() if d["dataset_id"] not in complained])
    gen.used_datasets.add(dataset["dataset_id"])
    day = gen.episode_day(lo=45, hi=25)
    duration = float(gen.rng.uniform(3, 10))
    received = at(gen.days[day], float(gen.rng.uniform(9, 16)))
    complaint = add_complaint(
        gen.platform, gen.rng, dataset, received, ("restored", "reopened")[n % 2], duration_days=duration
    )
    anonymous = n % 4 == 3
    if anonymous:
        who = Who("", "", [gen.episode_ip(vocab.ANON_NETS)], "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    else:
        who = gen.who(gen.free_consumer())
    gen.baseline(
        who,
        dataset,
        float(gen.rng.uniform(3, 8)),
        max(0, day - 30),
        min(len(gen.days) - 1, day + 25),
        fields=daily_fields(gen, dataset),
    )
    first = (complaint["suspended_at"] - at(gen.days[0], 0)).days + 1
    last = (complaint["resolved_at"] - at(gen.days[0], 0)).days - 1
    ts = np.concatenate(
        [gen.daytime(k, int(gen.rng.integers(2, 8))) for k in range(first, max(first, last) + 1)]
    )
    gen.emit(who, dataset["dataset_id"], ts)
    gen.record(
        "suspended_dataset",
        f"数据集因投诉于 {complaint['suspended_at']:%Y-%m-%d %H:%M} 暂停开放期间仍调用 {len(ts)} 次",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        who.ips[0] if anonymous else "",
        dataset["dataset_id"],
    )


def report_overdue(gen: Generation, count: int) -> None:
    """Mark reports overdue after all reports exist: never filed, or filed after the due date."""
    until = gen.platform.until
    pool = [
        r
        for r in gen.platform.usage_reports
        if r["due_date"] <= until - timedelta(days=3)
        and r["due_date"] >= until - timedelta(days=420)
        and r["agreement_id"] not in gen.platform.reserved
        and r["consumer_id"] not in gen.used_consumers
    ]
    picked: list[dict] = []
    for index in gen.rng.permutation(len(pool)):
        report = pool[int(index)]
        if len(picked) < count and report["consumer_id"] not in gen.used_consumers:
            picked.append(report)
            gen.used_consumers.add(report["consumer_id"])
    for n, report in enumerate(sorted(picked, key=lambda r: r["report_id"])):
        gen.platform.reserved.add(report["agreement_id"])
        if n % 3 == 2 and (until - report["due_date"]).days > 6:
            late = int(gen.rng.integers(3, min(40, (until - report["due_date"]).days)))
            report["filed_at"] = at(report["due_date"] + timedelta(days=late), 15.0)
            what = f"使用情况报告应于 {report['due_date']} 前提交，逾期 {late} 天提交"
        else:
            report["filed_at"] = None
            what = f"使用情况报告应于 {report['due_date']} 前提交，至今未提交"
        gen.platform.overdue_reports.add(report["report_id"])
        gen.record(
            "report_overdue",
            what,
            at(report["due_date"], 0),
            at(until, 23.9997),
            report["consumer_id"],
            gen.platform.consumer_key[report["consumer_id"]],
            dataset_id=report["dataset_id"],
        )


# ---------------------------------------------------------------- attackers who rotate, creep and probe


def distributed_scraping(gen: Generation, n: int) -> None:
    """Addresses of one network (a /24, or a /48 for every fourth), each paging its own slice of one
    dataset: each stays far below a scraper's hundreds of pages, together they walk it."""
    dataset = gen.choice(
        [d for d in gen.unconditional(min_rows=30_000) if d["format"] == "api"]
        or gen.unconditional(min_rows=30_000)
    )
    gen.used_datasets.add(dataset["dataset_id"])
    day = gen.episode_day(workday=False)
    addresses = int(gen.rng.integers(6, 17))
    per_address = int(gen.rng.integers(15, 41))
    net = vocab.HARVESTER_NETS[n % len(vocab.HARVESTER_NETS)]
    if n % 4 == 3:
        network = f"2a0e:{net[0]:x}:{net[1] + n:x}::/48"
        ips = [f"2a0e:{net[0]:x}:{net[1] + n:x}:{k + 1:x}::1" for k in range(addresses)]
    else:
        network = f"{net[0]}.{net[1]}.{n}.0/24"
        ips = [f"{net[0]}.{net[1]}.{n}.{10 + 7 * k}" for k in range(addresses)]
    agent = gen.choice(list(vocab.RARE_USER_AGENTS))
    start = at(gen.days[day], float(gen.rng.uniform(0.5, 14)))
    hours = float(gen.rng.uniform(2, 8))
    all_ts = []
    for k, ip in enumerate(ips):
        ts = gen.spread(start, hours, per_address)
        gen.emit(Who("", "", [ip], agent), dataset["dataset_id"], ts,
                 page=np.arange(k * per_address + 1, (k + 1) * per_address + 1), size=100)
        all_ts.append(ts)
    gen.record(
        "distributed_scraping",
        f"{addresses} 个同网段地址（{network}）分段翻页，各 {per_address} 页，"
        f"合计 {addresses * per_address} 页",
        *gen.window(np.concatenate(all_ts)),
        client_ip=network,
        dataset_id=dataset["dataset_id"],
    )


def low_and_slow(gen: Generation, n: int) -> None:
    """One entity paging a dataset in order, a page every few minutes for most of a day."""
    anonymous = n % 2 == 0
    dataset = gen.choice(
        [d for d in gen.unconditional(min_rows=30_000) if d["format"] == "api"]
        or gen.unconditional(min_rows=30_000)
    )
    gen.used_datasets.add(dataset["dataset_id"])
    day = gen.episode_day(workday=False)
    if anonymous:
        who = Who("", "", [gen.episode_ip()], gen.choice(list(vocab.USER_AGENTS)))
    else:
        who = gen.who(gen.free_consumer(("company", "person")))
        gen.baseline(who, dataset, float(gen.rng.uniform(2, 6)), max(0, day - 30), day + 3,
                     fields=daily_fields(gen, dataset))
    pages = int(gen.rng.integers(120, 260))
    gaps = gen.rng.uniform(2, 5.5, pages) * 60_000
    start = at(gen.days[day], float(gen.rng.uniform(0.2, 3)))
    ts = (int(start.timestamp() * 1000) + np.cumsum(gaps)).astype(np.int64)
    gen.emit(who, dataset["dataset_id"], ts, page=np.arange(1, pages + 1), size=100)
    gen.record(
        "low_and_slow",
        f"每 2–5 分钟翻一页，{(ts.max() - ts.min()) / 3_600_000:.0f} 小时内顺序翻取 {pages} 页",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
        who.ips[0] if anonymous else "",
        dataset["dataset_id"],
    )


def day_one_burst(gen: Generation, n: int) -> None:
    """A consumer active before the log began bursts on its second day: no baseline exists yet."""
    day = 1
    who, chosen, daily = _dedicated(gen, day, span=(1, 30))
    hours = int(gen.rng.integers(1, 3))
    per_hour = int(gen.rng.integers(200, 420))
    first = int(gen.rng.integers(9, 16))
    ts = np.concatenate([gen.spread(at(gen.days[day], first + h), 1.0, per_hour) for h in range(hours)])
    gen.emit(who, [d["dataset_id"] for d in chosen], ts)
    gen.record(
        "day_one_burst",
        f"日志第二天 {hours} 小时内调用 {len(ts)} 次（尚无历史基线）",
        *gen.window(ts),
        who.consumer_id,
        who.key_id,
    )


def scanning(gen: Generation, n: int) -> None:
    """A scanner asking for admin consoles, dotfiles and backups: one to five requests, all refused."""
    who = Who("", "", [gen.episode_ip()], vocab.SCANNER_AGENTS[n % len(vocab.SCANNER_AGENTS)])
    paths = [vocab.SENSITIVE_PATHS[int(k)] for k in
             gen.rng.choice(len(vocab.SENSITIVE_PATHS), int(gen.rng.integers(1, 6)), replace=False)]
    day = gen.episode_day(workday=False)
    ts = gen.spread(at(gen.days[day], float(gen.rng.uniform(0, 23))), 0.05, len(paths))
    i = gen.interner
    gen.emit(who, "", ts, endpoint=np.array([i.s(p) for p in paths], dtype=np.int32),
             status=np.where(gen.rng.random(len(paths)) < 0.8, 404, 403), pkind=CUSTOM, pjson=i.j({}),
             rows=0, bytes=180, latency=gen.rng.integers(2, 20, len(paths)))
    gen.record("scanning", f"扫描敏感路径 {', '.join(paths)}", *gen.window(ts), client_ip=who.ips[0])


def injection(gen: Generation, n: int) -> None:
    """Injection attempts in a query parameter: one for some attackers, a handful for others."""
    anonymous = n % 3 != 2
    if anonymous:
        who = Who("", "", [gen.episode_ip()], gen.choice(list(vocab.RARE_USER_AGENTS)))
    else:
        who = gen.who(gen.free_consumer(("company", "person")))
    dataset = gen.choice(gen.unconditional())
    attempts = 1 if n % 4 == 0 else int(gen.rng.integers(2, 9))
    day = gen.episode_day(workday=False)
    ts = gen.spread(at(gen.days[day], float(gen.rng.uniform(0, 22))), 0.5, attempts)
    i = gen.interner
    payloads = [vocab.ATTACKS[(n * 7 + k) % len(vocab.ATTACKS)] for k in range(attempts)]
    names = ("q", "keyword", "district", "id")
    gen.emit(who, dataset["dataset_id"], ts, pkind=CUSTOM,
             pjson=np.array([i.j({names[k % 4]: p, "page": 1}) for k, p in enumerate(payloads)],
                            dtype=np.int32),
             status=np.where(gen.rng.random(attempts) < 0.5, 400, 200))
    gen.record("injection", f"查询参数中注入攻击 {attempts} 次", *gen.window(ts), who.consumer_id, who.key_id,
               who.ips[0] if anonymous else "")


def tampering(gen: Generation, n: int) -> None:
    """Parameters no signature knows but the endpoint has never had: hidden switches, wrong types."""
    anonymous = n % 2 == 0
    if anonymous:
        who = Who("", "", [gen.episode_ip()], gen.choice(list(vocab.USER_AGENTS)))
    else:
        who = gen.who(gen.free_consumer(("company", "person")))
    dataset = gen.choice(gen.unconditional())
    calls = int(gen.rng.integers(3, 12))
    day = gen.episode_day(workday=False)
    ts = gen.spread(at(gen.days[day], float(gen.rng.uniform(8, 20))), 1.0, calls)
    i = gen.interner
    forms = [vocab.TAMPERED_PARAMS[(n + k) % len(vocab.TAMPERED_PARAMS)] for k in range(calls)]
    gen.emit(who, dataset["dataset_id"], ts, pkind=CUSTOM,
             pjson=np.array([i.j(f) for f in forms], dtype=np.int32))
    gen.record("tampering", f"{calls} 次调用携带接口从未出现的参数或取值形态", *gen.window(ts),
               who.consumer_id, who.key_id, who.ips[0] if anonymous else "")


# ---------------------------------------------------------------- benign look-alikes
# Lawful traffic that looks like misuse at a glance and must stay quiet. Each is recorded in
# demo_episodes as `benign.<kind>`, one row per entity, so the scoring can tell which kinds raised
# anything; scoring never counts them as episodes to find.


def shared_egress(gen: Generation, n: int) -> None:
    """A company's staff behind one egress address, each reading the first pages of a few datasets."""
    egress = f"{vocab.EGRESS_NET[0]}.{vocab.EGRESS_NET[1]}.{n}.1"
    staff = int(gen.rng.integers(6, 16))
    last = len(gen.days) - 1
    rows = [("", egress)]
    for _ in range(staff):
        consumer = gen.new_consumer("person", gen.days[0] - timedelta(days=int(gen.rng.integers(30, 400))))
        who = Who(consumer["consumer_id"], gen.platform.consumer_key[consumer["consumer_id"]], [egress],
                  vocab.USER_AGENTS[4])
        for dataset in [gen.choice(gen.unconditional()) for _ in range(3)]:
            gen.baseline(who, dataset, float(gen.rng.uniform(1, 4)), 0, last, ips=[egress])
        rows.append((who.consumer_id, ""))
    visitors = Who("", "", [egress], vocab.USER_AGENTS[5])
    for dataset in [gen.choice(gen.unconditional()) for _ in range(6)]:
        gen.baseline(visitors, dataset, float(gen.rng.uniform(4, 10)), 0, last)
    for consumer_id, ip in rows:
        gen.record("benign.shared_egress", f"{staff} 名员工与访客共用出口地址 {egress}",
                   at(gen.days[0], 0), at(gen.days[-1], 23.99), consumer_id, client_ip=ip)


def organic_growth(gen: Generation, n: int) -> None:
    """A consumer whose use grows a little every week, six- to tenfold over the log."""
    consumer = gen.new_consumer("company", gen.days[0] - timedelta(days=100))
    who = gen.who(consumer)
    dataset = gen.choice(gen.unconditional())
    steps = 18
    span = len(gen.days) // steps
    for k in range(steps):
        gen.baseline(who, dataset, 15.0 * 1.13 ** k, k * span, min(len(gen.days) - 1, (k + 1) * span - 1),
                     fields=daily_fields(gen, dataset))
    gen.record("benign.organic_growth", "调用量随业务逐周增长，半年增至约八倍", at(gen.days[0], 0),
               at(gen.days[-1], 23.99), who.consumer_id, who.key_id)


def health_check(gen: Generation, n: int) -> None:
    """A monitoring client calling one endpoint once a minute, day and night, from the log's first day."""
    consumer = gen.new_consumer("organisation", gen.days[0] - timedelta(days=60))
    who = Who(consumer["consumer_id"], gen.platform.consumer_key[consumer["consumer_id"]],
              gen.platform.consumer_ips[consumer["consumer_id"]][:1], "Prometheus/blackbox-exporter 0.25")
    dataset = gen.choice(gen.never_suspended())
    # The first days (no history yet) and the last ten: a minute-by-minute year would swamp a small log.
    days = [*range(0, 3), *range(len(gen.days) - 10, len(gen.days))]
    ts = np.concatenate([day_start_ms(gen.days[d]) + np.arange(1440) * 60_000 + 7_000 for d in days])
    gen.emit(who, dataset["dataset_id"], ts, page=1, size=1, rows=1,
             latency=gen.rng.integers(20, 90, len(ts)).astype(np.int32))
    gen.record("benign.health_check", "监控程序每分钟调用一次同一接口", at(gen.days[0], 0),
               at(gen.days[-1], 23.99), who.consumer_id, who.key_id)


def nightly_download(gen: Generation, n: int) -> None:
    """A mirror downloading the full files of a few datasets every night at two."""
    consumer = gen.new_consumer("company", gen.days[0] - timedelta(days=200))
    who = gen.who(consumer)
    files = [gen.choice(gen.never_suspended(downloadable=True, min_rows=5_000)) for _ in range(3)]
    i = gen.interner
    for dataset in files:
        ts = np.array([day_start_ms(d) + 2 * MS_HOUR + int(gen.rng.integers(0, 40 * 60_000))
                       for d in gen.days], dtype=np.int64)
        rows = min(dataset["row_count"], 50_000)
        gen.emit(who, dataset["dataset_id"], ts, channel=1, rows=rows, bytes=rows * 180 + 400, pkind=CUSTOM,
                 pjson=i.j({"format": "csv"}),
                 endpoint=i.s(f"/api/v1/datasets/{dataset['dataset_id']}/download"),
                 latency=(rows // 4000 + gen.rng.lognormal(np.log(420.0), 0.5, len(ts))).astype(np.int32))
    gen.record("benign.nightly_download", "每晚 02:00 下载 3 个数据集的完整文件", at(gen.days[0], 0),
               at(gen.days[-1], 23.99), who.consumer_id, who.key_id)


def broken_client(gen: Generation, n: int) -> None:
    """An integration left asking 300 times a day for a dataset id that was withdrawn: every call 404."""
    day = gen.episode_day(lo=20, hi=12)
    who, _, _ = _dedicated(gen, day, span=(20, 12))
    withdrawn = [d for d in gen.platform.datasets if d["status"] == "withdrawn"]
    gone = (withdrawn[n % len(withdrawn)] if withdrawn else gen.choice(gen.unconditional()))["dataset_id"]
    days = int(gen.rng.integers(3, 8))
    ts = np.concatenate([gen.daytime(day + k, 300) for k in range(days)])
    gen.emit(who, gone, ts, status=404, rows=0, bytes=160, page=1, size=50)
    gen.record("benign.broken_client", f"连续 {days} 天每天 300 次请求同一已撤回数据集，全部 404",
               *gen.window(ts), who.consumer_id, who.key_id)


def crawler(gen: Generation, n: int) -> None:
    """A search engine's crawlers: a few addresses of one network sweeping the first pages of many
    unconditional datasets every day."""
    net, agent = vocab.CRAWLERS[n % len(vocab.CRAWLERS)]
    ips = [f"{net}.{10 + 11 * k}" for k in range(int(gen.rng.integers(4, 9)))]
    pool = [d["dataset_id"] for d in gen.never_suspended()]
    i = gen.interner
    for day in range(len(gen.days)):
        count = int(gen.rng.integers(20, 60))
        picks = gen.rng.integers(0, len(pool), count)
        ts = gen.spread(at(gen.days[day], float(gen.rng.uniform(0, 20))), 3.0, count)
        gen.emit(Who("", "", ips, agent), [pool[p] for p in sorted(set(picks.tolist()))], ts,
                 page=1 + (gen.rng.random(count) < 0.3), size=20)
        gen.emit(Who("", "", ips[:1], agent), "", ts[:1], endpoint=i.s("/robots.txt"), pkind=CUSTOM,
                 pjson=i.j({}), rows=0, bytes=300)
    for ip in [*ips, f"{net}.0/24"]:
        gen.record("benign.crawler", f"搜索引擎爬虫 {agent.split(';')[1].strip() if ';' in agent else agent}",
                   at(gen.days[0], 0), at(gen.days[-1], 23.99), client_ip=ip)


TRAFFIC_EPISODES: dict[str, Callable[[Generation, int], None]] = {
    "scraping": scraping,
    "burst": burst,
    "key_sharing": key_sharing,
    "probing": probing,
    "off_hours_bulk": off_hours_bulk,
    "sybil_harvest": sybil_harvest,
    "ml_outlier": ml_outlier,
    "no_agreement": no_agreement,
    "outside_validity": outside_validity,
    "fields_outside_agreement": fields_outside_agreement,
    "scenario_mismatch": scenario_mismatch,
    "quota_exceeded": quota_exceeded,
    "ip_outside_allowlist": ip_outside_allowlist,
    "suspended_dataset": suspended_dataset,
    "distributed_scraping": distributed_scraping,
    "low_and_slow": low_and_slow,
    "day_one_burst": day_one_burst,
    "scanning": scanning,
    "injection": injection,
    "tampering": tampering,
}

# Episode types that are not an alert category themselves, and the category that finds them.
EXPECTED_CATEGORY = {"low_and_slow": "scraping", "day_one_burst": "burst"}

BENIGN_LOOKALIKES: dict[str, Callable[[Generation, int], None]] = {
    "shared_egress": shared_egress,
    "organic_growth": organic_growth,
    "health_check": health_check,
    "nightly_download": nightly_download,
    "broken_client": broken_client,
    "crawler": crawler,
}
BENIGN_PREFIX = "benign."
