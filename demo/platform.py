"""The demo platform: a Shanghai-like open-data platform with labelled misuse episodes.

`generate_platform` writes, under one directory,

    reference/<table>.jsonl   agencies, datasets, consumers, api_keys, applications,
                              agreements, usage_reports, complaints (columns of 0001_reference.sql)
    export/开放数据目录.csv    the same catalog as a city platform exports it: Chinese headers
                              and values, agencies by name (loaded through the built-in aliases)
    logs/access_log_NNN.jsonl the gateway access log in the input contract, ~1M lines a file
    episodes.jsonl            ground truth: one labelled misuse episode a line

and `build_demo` loads them through the same path a user would (`load_reference_dir`, the
export too, `ingest_paths`) and stores the ground truth in `demo_episodes` for `odwatch detectors score`.
Same (seed, until) → byte-identical files.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from clickhouse_connect.driver.client import Client

from demo import vocab
from demo.catalog import (
    LOG_DAYS,
    SCALES,
    Platform,
    at,
    json_ready,
    make_agencies,
    make_agreements,
    make_complaints,
    make_consumers,
    make_datasets,
    make_usage_reports,
)
from demo.episodes import (
    BENIGN_LOOKALIKES,
    BENIGN_PREFIX,
    FILE_FORMATS,
    TRAFFIC_EPISODES,
    Generation,
    Who,
    daily_fields,
    records_endpoint,
    report_overdue,
)
from demo.traffic import (
    STREAM_KINDS,
    DayContext,
    Interner,
    LogWriter,
    StreamTable,
    concat_batches,
    day_factors,
    day_start_ms,
    epoch_ms,
    expected_calls,
    lawful_day,
    take,
)
from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings
from reports.evaluation import FREQUENCY_LABELS

Progress = Callable[[int, int], None]

REFERENCE_TABLES = (
    "agencies",
    "datasets",
    "consumers",
    "api_keys",
    "applications",
    "agreements",
    "usage_reports",
    "complaints",
)
EPISODE_COLUMNS = (
    "episode_id",
    "episode_type",
    "consumer_id",
    "key_id",
    "client_ip",
    "dataset_id",
    "starts_at",
    "ends_at",
    "description",
)
# Events of another source (not this demo's event-id prefix) already in the warehouse.
FOREIGN_EVENTS = """
SELECT count()
FROM access_log
WHERE NOT startsWith(event_id, {prefix:String})
"""
# Every type of labelled episode (misuse to find), then the benign look-alikes (`benign.<kind>`).
EPISODE_TYPES = (*TRAFFIC_EPISODES, "report_overdue", *(BENIGN_PREFIX + kind for kind in BENIGN_LOOKALIKES))
# The catalog export: a portal's own column names and words (ingest/aliases.toml knows them).
CATALOG_EXPORT = "开放数据目录.csv"
EXPORT_COLUMNS = {
    "dataset_id": "数据集编号", "version": "版本号", "name": "数据集名称", "agency_id": "数据提供单位",
    "description": "数据集描述", "domain": "数据领域", "open_class": "开放属性", "format": "数据格式",
    "fields": "数据项", "conditions": "开放条件", "update_frequency": "更新频率", "published_at": "发布日期",
    "last_updated": "最近更新时间", "status": "状态", "has_sample": "是否有样例", "row_count": "数据量",
}
EXPORT_WORDS = {
    "open_class": {"unconditional": "无条件开放", "conditional": "有条件开放", "closed": "非开放"},
    "format": {"api": "接口", "other": "其他"},
    "update_frequency": FREQUENCY_LABELS,
    "status": {"open": "正常", "suspended": "暂停开放", "withdrawn": "已撤回"},
    "has_sample": {1: "是", 0: "否"},
}
AGREEMENT_SHARE = 0.35  # of the lawful volume; the rest is registered and anonymous use of open data
ANONYMOUS_SHARE = 0.4  # of what is left after agreements and episodes


@dataclass
class GeneratedPlatform:
    out_dir: Path
    reference_dir: Path
    export_dir: Path
    log_files: list[Path]
    episodes_path: Path
    events: int
    episodes: list[dict]
    tables: dict[str, int]
    scale: str
    seed: int
    until: date
    elapsed_s: float

    def episodes_by_type(self) -> dict[str, int]:
        counts = dict.fromkeys(EPISODE_TYPES, 0)
        for episode in self.episodes:
            counts[episode["episode_type"]] += 1
        return counts


@dataclass
class DemoSummary:
    out_dir: Path
    scale: str
    seed: int
    until: date
    events: int
    files: int
    episodes_by_type: dict[str, int]
    reference: dict[str, dict] = field(default_factory=dict)
    ingest: dict = field(default_factory=dict)
    generate_s: float = 0.0
    load_s: float = 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["out_dir"] = str(self.out_dir)
        out["until"] = self.until.isoformat()
        return out


# ---------------------------------------------------------------- planning


def _median_agreement_rate(scale_events: int, agreements: int) -> float:
    """Calls per working day of a typical agreement so agreements carry AGREEMENT_SHARE of the log."""
    weekday_volume = scale_events / (LOG_DAYS * 0.8)
    return max(0.5, AGREEMENT_SHARE * weekday_volume / (agreements * 0.6 * 1.5))


def _plan_reference(platform: Platform, rng: np.random.Generator) -> None:
    scale = platform.scale
    platform.agencies = make_agencies()
    platform.datasets = make_datasets(rng, scale.datasets, platform.until)
    platform.index()
    make_consumers(platform, rng, scale.consumers)
    make_agreements(platform, rng, scale.agreements, _median_agreement_rate(scale.events, scale.agreements))
    make_complaints(platform, rng, max(12, scale.datasets // 25), set())


def _plan_episodes(gen: Generation, per_type: int) -> None:
    for kind, generate in TRAFFIC_EPISODES.items():
        for n in range(per_type):
            generate(gen, n)
        assert sum(e["episode_type"] == kind for e in gen.episodes) == per_type, kind
    # Lawful look-alikes, one of each kind per eight episodes of a type.
    for generate in BENIGN_LOOKALIKES.values():
        for n in range(max(1, per_type // 8)):
            generate(gen, n)


def _index_of(gen: Generation, day: date) -> int:
    return (day - gen.days[0]).days


def _agreement_streams(gen: Generation) -> None:
    last = len(gen.days) - 1
    for agreement in gen.platform.agreements:
        if gen.platform.dataset(agreement["dataset_id"])["status"] != "open":
            continue
        lo = max(0, _index_of(gen, agreement["valid_from"]))
        hi = min(last, _index_of(gen, agreement["valid_to"]))
        if lo > hi:
            continue
        cid = agreement["consumer_id"]
        who = Who(cid, gen.platform.consumer_key[cid], gen.platform.consumer_ips[cid], gen.user_agent(cid))
        fields = [
            sorted(
                gen.rng.choice(
                    agreement["allowed_fields"],
                    int(gen.rng.integers(1, len(agreement["allowed_fields"]) + 1)),
                    replace=False,
                ).tolist()
            )
            for _ in range(3)
        ]
        gen.baseline(
            who,
            gen.platform.dataset(agreement["dataset_id"]),
            gen.platform.agreement_rate[agreement["agreement_id"]],
            lo,
            hi,
            fields=fields,
            scenarios=agreement["scenarios"],
            cap=int(agreement["daily_call_quota"] * 0.7),
            kind="agreement",
        )


def _pick_datasets(gen: Generation, owners: int, most: int, cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1..most popularity-weighted datasets per owner, without repeats: (owner, dataset) index pairs."""
    counts = gen.rng.integers(1, most + 1, owners)
    owner = np.repeat(np.arange(owners), counts)
    dataset = np.minimum(np.searchsorted(cdf, gen.rng.random(len(owner))), len(cdf) - 1)
    pairs = np.unique(owner.astype(np.int64) * len(cdf) + dataset)
    return pairs // len(cdf), pairs % len(cdf)


def _dataset_columns(gen: Generation, datasets: list[dict]) -> dict[str, np.ndarray]:
    i = gen.interner
    return {
        "dataset": np.array([i.s(d["dataset_id"]) for d in datasets], dtype=np.int32),
        "records_endpoint": np.array(
            [i.s(records_endpoint(d["dataset_id"])) for d in datasets], dtype=np.int32
        ),
        "download_endpoint": np.array(
            [i.s(f"/api/v1/datasets/{d['dataset_id']}/download") for d in datasets], dtype=np.int32
        ),
        "download_rows": np.array([min(d["row_count"], 50_000) for d in datasets], dtype=np.int64),
        "bytes_per_row": np.array([24 * len(d["fields"]) + 20 for d in datasets], dtype=np.int64),
        "file": np.array([d["format"] in FILE_FORMATS for d in datasets]),
        "fields": np.array([[i.j(f) for f in [[]] + daily_fields(gen, d)] for d in datasets], dtype=np.int32),
    }


def _owner_columns(gen: Generation, consumers: list[dict], anonymous: int) -> tuple[dict, dict]:
    i = gen.interner
    ids = [c["consumer_id"] for c in consumers]
    ips = gen.platform.consumer_ips
    registered = {
        "consumer": np.array([i.s(c) for c in ids], dtype=np.int32),
        "key": np.array([i.s(gen.platform.consumer_key[c]) for c in ids], dtype=np.int32),
        "ips": np.array([[i.s(ips[c][k % len(ips[c])]) for k in range(3)] for c in ids], dtype=np.int32),
        "ua": np.array([i.s(gen.user_agent(c)) for c in ids], dtype=np.int32),
        "day_lo": np.array([max(0, _index_of(gen, c["registered_at"].date()) + 1) for c in consumers]),
    }
    addresses = np.array([i.s(_anonymous_ip(n)) for n in range(anonymous)], dtype=np.int32)
    visitors = {
        "consumer": np.zeros(anonymous, dtype=np.int32),
        "key": np.zeros(anonymous, dtype=np.int32),
        "ips": np.repeat(addresses[:, None], 3, axis=1),
        "ua": np.array(
            [i.s(vocab.USER_AGENTS[(4, 5, 8, 0)[n % 4]]) for n in range(anonymous)], dtype=np.int32
        ),
        "day_lo": np.zeros(anonymous, dtype=np.int64),
    }
    return registered, visitors


def _open_data_streams(gen: Generation, episode_consumers: set[str]) -> StreamTable:
    """Registered consumers and anonymous visitors using unconditional data, built as columns."""
    datasets = [
        d for d in gen.platform.datasets if d["open_class"] == "unconditional" and d["status"] == "open"
    ]
    weights = 1.0 / np.arange(1, len(datasets) + 1) ** 0.8
    cdf = np.cumsum(weights[gen.rng.permutation(len(datasets))] / weights.sum())
    ds = _dataset_columns(gen, datasets)
    consumers = [c for c in gen.platform.consumers if c["consumer_id"] not in episode_consumers]
    consumers = [c for c, r in zip(consumers, gen.rng.random(len(consumers)), strict=True) if r >= 0.2]
    registered, visitors = _owner_columns(gen, consumers, gen.platform.scale.anon_ips)
    tables = []
    for kind, owners, most, p_download in (
        ("consumer", registered, 4, 0.25),
        ("anonymous", visitors, 2, 0.6),
    ):
        owner, dataset = _pick_datasets(gen, len(owners["consumer"]), most, cdf)
        n = len(owner)
        if kind == "consumer":
            rate = gen.rng.lognormal(0, 1.0, n)
            fields = ds["fields"][dataset][np.arange(n)[:, None], gen.rng.integers(0, 4, (n, 3))]
        else:
            rate = np.minimum(20.0, gen.rng.pareto(1.5, n) + 0.2)
            fields = np.repeat(ds["fields"][dataset, :1], 3, axis=1)
        tables.append(
            StreamTable(
                rate=rate,
                day_lo=owners["day_lo"][owner].astype(np.int32),
                day_hi=np.full(n, len(gen.days) - 1, dtype=np.int32),
                cap=np.full(n, 10**9, dtype=np.int64),
                consumer=owners["consumer"][owner],
                key=owners["key"][owner],
                dataset=ds["dataset"][dataset],
                ips=owners["ips"][owner],
                scenarios=np.zeros((n, 3), dtype=np.int32),
                fields=fields,
                ua=owners["ua"][owner],
                page_size=np.array([20, 50, 100], dtype=np.int32)[gen.rng.integers(0, 3, n)],
                offset_style=gen.rng.random(n) < 0.2,
                p_download=np.where(ds["file"][dataset], p_download, 0.0),
                download_rows=ds["download_rows"][dataset],
                bytes_per_row=ds["bytes_per_row"][dataset],
                records_endpoint=ds["records_endpoint"][dataset],
                download_endpoint=ds["download_endpoint"][dataset],
                kind=np.full(n, STREAM_KINDS.index(kind), dtype=np.int8),
            )
        )
    return StreamTable.concat(tables)


def _anonymous_ip(n: int) -> str:
    """Visitors' addresses: mostly IPv4 broadband, one in nineteen IPv6."""
    net = vocab.ANON_NETS[n % len(vocab.ANON_NETS)]
    slot = n // len(vocab.ANON_NETS)
    if n % 19 == 7:
        return f"240e:{net[0]:x}:{net[1]:x}{slot % 97:02x}::{slot + 1:x}"
    return f"{net[0]}.{net[1]}.{slot // 254}.{1 + slot % 254}"


def _calibrate(table: StreamTable, factors: np.ndarray, target: int, episode_events: int) -> None:
    """Scale registered and anonymous open-data use so the whole log lands near the scale's size."""
    expected = expected_calls(table.rate, table.day_lo, table.day_hi, factors)
    fixed_kinds = [STREAM_KINDS.index("agreement"), STREAM_KINDS.index("episode")]
    fixed = expected[np.isin(table.kind, fixed_kinds)].sum() + episode_events
    remaining = max(target - fixed, 0.3 * target)
    for kind, share in (("anonymous", ANONYMOUS_SHARE), ("consumer", 1 - ANONYMOUS_SHARE)):
        mask = table.kind == STREAM_KINDS.index(kind)
        total = expected[mask].sum()
        if total > 0:
            table.rate[mask] *= share * remaining / total


def _suspensions(gen: Generation) -> list[tuple[int, int, int]]:
    """(dataset code, from ms, to ms) for every suspension touching the log window."""
    far = epoch_ms(at(gen.platform.until + timedelta(days=3650), 0))
    out = []
    for complaint in gen.platform.complaints:
        if complaint["suspended_at"] is None:
            continue
        end = epoch_ms(complaint["resolved_at"]) if complaint["resolved_at"] else far
        out.append((gen.interner.s(complaint["dataset_id"]), epoch_ms(complaint["suspended_at"]), end))
    return out


# ---------------------------------------------------------------- writing


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(json_ready(row), ensure_ascii=False) + "\n")


def _write_reference(platform: Platform, directory: Path) -> dict[str, int]:
    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, rows in platform.reference_tables().items():
        _write_jsonl(directory / f"{table}.jsonl", rows)
        counts[table] = len(rows)
    return counts


def _write_catalog_export(platform: Platform, directory: Path) -> Path:
    """The catalog as a city platform exports it: Chinese headers and words, agencies by name, dates
    with slashes, UTF-8 with a byte-order mark (Excel's "CSV UTF-8")."""
    directory.mkdir(parents=True, exist_ok=True)
    agency_names = {a["agency_id"]: a["name"] for a in platform.agencies}
    path = directory / CATALOG_EXPORT
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS.values())
        for dataset in platform.datasets:
            row = json_ready(dataset)
            cells = []
            for column in EXPORT_COLUMNS:
                value = row[column]
                if column == "agency_id":
                    value = agency_names[value]
                elif column in EXPORT_WORDS:
                    words = EXPORT_WORDS[column]
                    value = words.get(value, value.upper() if isinstance(value, str) else value)
                elif column == "fields":
                    value = json.dumps(value, ensure_ascii=False)
                elif column in ("published_at", "last_updated"):
                    value = value.replace("-", "/").replace("T", " ")[:19]
                cells.append(value)
            writer.writerow(cells)
    return path


def _write_logs(
    gen: Generation,
    table: StreamTable,
    factors: np.ndarray,
    episode_batch: dict,
    directory: Path,
    seed: int,
    progress: Progress | None,
) -> LogWriter:
    directory.mkdir(parents=True, exist_ok=True)
    writer = LogWriter(directory, event_id_prefix(seed, gen.platform.until), gen.interner)
    suspensions = _suspensions(gen)
    download_params = (gen.interner.j({}), gen.interner.j({"format": "csv"}))
    order = np.argsort(episode_batch["ts"], kind="stable")
    episode_batch = take(episode_batch, order)
    bounds = [day_start_ms(d) for d in gen.days] + [day_start_ms(gen.days[-1] + timedelta(days=1))]
    cuts = np.searchsorted(episode_batch["ts"], bounds)
    base_seed = [seed, gen.platform.until.toordinal(), 3]
    for index, day in enumerate(gen.days):
        lo, hi = bounds[index], bounds[index + 1]
        ctx = DayContext(
            index, day, float(factors[index]), lo, [s for s in suspensions if s[1] < hi and s[2] > lo]
        )
        rng = np.random.default_rng(base_seed + [index])
        lawful = lawful_day(table, ctx, rng, download_params)
        todays = take(episode_batch, np.arange(cuts[index], cuts[index + 1]))
        writer.write(concat_batches([lawful, todays]))
        if progress:
            progress(index + 1, len(gen.days))
    writer.close()
    return writer


def generate_platform(
    out_dir: Path,
    scale: str = "small",
    seed: int = 7,
    until: date | None = None,
    progress: Progress | None = None,
) -> GeneratedPlatform:
    """Write the demo platform's reference files, access log and episode ground truth under out_dir.

    `progress(done, total)` is called after each day of the log is written.
    """
    if scale not in SCALES:
        raise UserError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALES)}.")
    started = time.perf_counter()
    until = until or clock.today()
    out_dir = Path(out_dir)
    for stale in ("reference", "export", "logs"):
        shutil.rmtree(out_dir / stale, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    ordinal = until.toordinal()
    platform = Platform(until=until, scale=SCALES[scale])
    _plan_reference(platform, np.random.default_rng([seed, ordinal, 1]))
    days = [platform.log_start + timedelta(days=i) for i in range(LOG_DAYS)]
    gen = Generation(platform, Interner(), np.random.default_rng([seed, ordinal, 2]), days)
    _plan_episodes(gen, platform.scale.episodes)
    make_usage_reports(platform, np.random.default_rng([seed, ordinal, 4]))
    report_overdue(gen, platform.scale.episodes)

    _agreement_streams(gen)
    table = StreamTable.concat(
        [StreamTable.from_streams(gen.streams), _open_data_streams(gen, set(gen.used_consumers))]
    )
    factors = day_factors(days)
    episode_batch = concat_batches(gen.batches)
    _calibrate(table, factors, platform.scale.events, len(episode_batch["ts"]))

    tables = _write_reference(platform, out_dir / "reference")
    _write_catalog_export(platform, out_dir / "export")
    writer = _write_logs(gen, table, factors, episode_batch, out_dir / "logs", seed, progress)
    episodes = sorted(gen.episodes, key=lambda e: e["episode_id"])
    _write_jsonl(out_dir / "episodes.jsonl", episodes)
    return GeneratedPlatform(
        out_dir,
        out_dir / "reference",
        out_dir / "export",
        writer.files,
        out_dir / "episodes.jsonl",
        writer.events,
        episodes,
        tables,
        scale,
        seed,
        until,
        time.perf_counter() - started,
    )


# ---------------------------------------------------------------- loading


def load_episodes(client: Client, episodes: list[dict]) -> int:
    """Replace the ground truth in demo_episodes with these episodes."""
    client.command("TRUNCATE TABLE demo_episodes")
    rows = [[e[c] for c in EPISODE_COLUMNS] for e in episodes]
    if rows:
        client.insert("demo_episodes", rows, column_names=list(EPISODE_COLUMNS))
    return len(rows)


def event_id_prefix(seed: int, until: date) -> str:
    """Every event of one demo platform carries this prefix, so its log is told apart from others."""
    return f"gw-{seed}-{until:%Y%m%d}-"


def _refuse_foreign_log(client: Client, prefix: str) -> None:
    """A demo mixed into other traffic would make its ground truth wrong; refuse before writing anything."""
    foreign = int(client.query(FOREIGN_EVENTS, parameters={"prefix": prefix}).result_rows[0][0])
    if foreign:
        raise UserError(
            f"The warehouse already holds {foreign:,} access-log events that are not part of this demo "
            "platform; build the demo in an empty data directory (set ODWATCH_DATA_DIR)."
        )


def build_demo(
    client: Client,
    settings: Settings,
    scale: str = "small",
    seed: int = 7,
    until: date | None = None,
    progress: bool = False,
) -> DemoSummary:
    """Generate the demo platform into <data_dir>/demo/ and load it as a user would."""
    from ingest.loader import ingest_paths
    from ingest.reference import load_reference_dir

    until = until or clock.today()
    _refuse_foreign_log(client, event_id_prefix(seed, until))
    out_dir = Path(settings.data_dir) / "demo"
    generated = generate_platform(out_dir, scale, seed, until, progress=_day_progress() if progress else None)
    started = time.perf_counter()
    reference = load_reference_dir(client, generated.reference_dir)
    # The same catalog again, as the platform's own export: put onto the contract by the built-in
    # aliases (same rows, so the upsert changes nothing), for `make run` users to see it work.
    export = load_reference_dir(client, generated.export_dir)
    summary = ingest_paths(client, generated.log_files, "jsonl", settings=settings, progress=progress)
    load_episodes(client, generated.episodes)
    return DemoSummary(
        out_dir=out_dir,
        scale=scale,
        seed=seed,
        until=generated.until,
        events=generated.events,
        files=len(generated.log_files),
        episodes_by_type=generated.episodes_by_type(),
        # The export's result is listed as "datasets ← 开放数据目录.csv", so the demo's summary shows it.
        reference={**{table: _plain(result) for table, result in reference.items()},
                   **{f"{table} ← {CATALOG_EXPORT}": _plain(result) for table, result in export.items()}},
        ingest=summary.as_dict(),
        generate_s=generated.elapsed_s,
        load_s=time.perf_counter() - started,
    )


def _plain(result: object) -> dict:
    if hasattr(result, "__dataclass_fields__"):
        return asdict(result)
    return dict(result) if isinstance(result, dict) else {"result": str(result)}


def _day_progress() -> Progress:
    """A rich progress bar over the generated days."""
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("Generating access log", total=LOG_DAYS)

    def advance(done: int, total: int) -> None:
        if done == 1:
            bar.start()
        bar.update(task, completed=done, total=total)
        if done == total:
            bar.stop()

    return advance


__all__ = ["DemoSummary", "GeneratedPlatform", "build_demo", "generate_platform"]
