"""Quality-scan throughput on a ~1 GB CSV against polars' own read of the same file.

    .venv/bin/python bench/quality_scan.py [--size-gb 1.0] [--path FILE]

Generates (or reuses) bench/data/quality_<size>gb.csv with realistic columns — record ids,
company names, unified social credit codes, dates, amounts, districts — and some empty
cells, duplicate rows and keys, bad checksums, impossible dates and non-numeric amounts.
Then, each in a fresh subprocess so peak RSS is its own: the baseline
`pl.scan_csv(path).collect()` and the quality scan (`reports.profiling.profile_file` plus
the content scoring). Prints rows/s of each, the ratio (target >= 0.5) and the scan's
peak RSS (target < 2 GB).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

DATA_DIR = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parent.parent
ALPHABET = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])
DISTRICTS = ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区",
             "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"]
WORDS = ["华东", "申城", "浦江", "东方", "明珠", "长江", "新创", "智联", "海纳", "恒信", "天成", "瑞丰"]
TRADES = ["科技", "贸易", "物流", "餐饮", "建设", "医药", "文化", "咨询", "电子", "环保"]
COLUMNS = ["record_id", "company_name", "credit_code", "district", "reg_date", "start_date", "end_date",
           "reg_capital", "employees", "status", "address"]
BENCH_FIELDS = [
    {"name": "record_id", "type": "integer", "description": "记录编号", "key": True},
    {"name": "company_name", "type": "string", "description": "企业名称"},
    {"name": "credit_code", "type": "credit_code", "description": "统一社会信用代码"},
    {"name": "district", "type": "enum", "description": "所属区", "values": DISTRICTS},
    {"name": "reg_date", "type": "date", "description": "成立日期"},
    {"name": "start_date", "type": "date", "description": "营业期限自"},
    {"name": "end_date", "type": "date", "description": "营业期限至"},
    {"name": "reg_capital", "type": "number", "description": "注册资本（万元）"},
    {"name": "employees", "type": "integer", "description": "从业人数"},
    {"name": "status", "type": "enum", "description": "登记状态", "values": ["存续", "在业", "注销", "吊销"]},
    {"name": "address", "type": "string", "description": "住所"},
]


def _credit_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    body = np.empty((n, 17), dtype=np.int64)
    body[:, 0] = 9
    body[:, 1] = 1
    body[:, 2:8] = rng.integers(0, 10, (n, 6))
    body[:, 8:] = rng.integers(0, 31, (n, 9))
    check = (31 - (body * WEIGHTS).sum(axis=1) % 31) % 31
    chars = ALPHABET[np.concatenate([body, check[:, None]], axis=1)]
    return np.ascontiguousarray(chars).view("<U18").ravel()


def _dates(rng: np.random.Generator, n: int, start: str, days: int) -> pl.Series:
    base = np.datetime64(start) + rng.integers(0, days, n).astype("timedelta64[D]")
    return pl.Series(base).dt.strftime("%Y-%m-%d")


def generate_chunk(rng: np.random.Generator, start_id: int, n: int) -> pl.DataFrame:
    """n rows with realistic values and a sprinkling of every defect the scan looks for."""
    pick = lambda values, k=n: pl.Series(values)[rng.integers(0, len(values), k)]  # noqa: E731
    ids = np.arange(start_id, start_id + n)
    dup_keys = rng.random(n) < 0.002
    ids[dup_keys] = ids[dup_keys] - 1
    names = pl.select(pl.concat_str([pick(["上海"] * 3 + DISTRICTS), pick(WORDS), pick(TRADES),
                                     pl.Series(rng.integers(1, 999, n)).cast(pl.String), pl.lit("有限公司")]))
    addresses = pl.select(pl.concat_str([pl.lit("上海市"), pick(DISTRICTS), pick(WORDS), pl.lit("路"),
                                         pl.Series(rng.integers(1, 3000, n)).cast(pl.String), pl.lit("号")]))
    frame = pl.DataFrame({
        "record_id": ids,
        "company_name": names.to_series(),
        "credit_code": _credit_codes(rng, n),
        "district": pick(DISTRICTS),
        "reg_date": _dates(rng, n, "1995-01-01", 11000),
        "start_date": _dates(rng, n, "2000-01-01", 8000),
        "end_date": _dates(rng, n, "2024-01-01", 12000),
        "reg_capital": np.round(rng.lognormal(5, 1.5, n), 2),
        "employees": rng.integers(1, 5000, n),
        "status": pick(["存续", "存续", "在业", "在业", "注销", "吊销"]),
        "address": addresses.to_series(),
    }).with_columns(pl.all().cast(pl.String))
    defects = {
        "company_name": (0.01, None),                  # empty cells
        "address": (0.03, None),
        "credit_code": (0.003, "91310000MA1FL8XQ3X"),  # checksum / shape errors
        "reg_date": (0.002, "2021-02-30"),             # impossible date
        "reg_capital": (0.002, "待定"),                 # not a number
        "district": (0.001, "浦东"),                    # outside the value set
    }
    for column, (rate, value) in defects.items():
        mask = pl.Series(rng.random(n) < rate)
        frame = frame.with_columns(pl.when(mask).then(pl.lit(value, pl.String)).otherwise(pl.col(column))
                                   .alias(column))
    slash = pl.Series(rng.random(n) < 0.01)                # a second date layout
    frame = frame.with_columns(pl.when(slash).then(pl.col("start_date").str.replace_all("-", "/"))
                               .otherwise(pl.col("start_date")).alias("start_date"))
    dupes = frame.sample(fraction=0.005, seed=int(rng.integers(0, 2**31)))  # exact duplicate rows
    return pl.concat([frame, dupes])


def generate(path: Path, size_gb: float, seed: int = 7, chunk_rows: int = 500_000) -> Path:
    """Write the benchmark CSV in chunks until it reaches size_gb."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    target = int(size_gb * 1024**3)
    tmp = path.with_suffix(".part")
    written = 0
    with open(tmp, "wb") as handle:
        next_id = 1
        while written < target:
            chunk = generate_chunk(rng, next_id, chunk_rows)
            chunk.write_csv(handle, include_header=next_id == 1)
            next_id += chunk_rows
            written = handle.tell()
    tmp.rename(path)
    return path


# polars' default read infers types from the first rows and fails on a dirty file (a text value in a
# numeric column is one of the defects); it then reads every column as text, which is the faster and so
# stricter baseline, and says so.
BASELINE = """
import json, resource, sys, time
import polars as pl
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t, c = time.perf_counter(), cpu()
try:
    frame = pl.scan_csv(sys.argv[1]).collect()
    how, failure = "pl.scan_csv(path).collect()", ""
except pl.exceptions.PolarsError as exc:
    failure = str(exc).splitlines()[0]
    t, c = time.perf_counter(), cpu()
    frame = pl.scan_csv(sys.argv[1], infer_schema=False).collect()
    how = "pl.scan_csv(path, infer_schema=False).collect()"
seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rows": frame.height, "how": how,
                  "default_read_failed": failure,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

SCAN = """
import json, resource, sys, time
from reports.profiling import profile_file
from reports.quality import DEFAULT_WEIGHTS, score_content
declared = json.loads(sys.argv[2]) if sys.argv[2] != "null" else None
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t, c = time.perf_counter(), cpu()
profile = profile_file(sys.argv[1], declared)
parts = score_content(DEFAULT_WEIGHTS, profile)
seconds, cpu_seconds = time.perf_counter() - t, cpu() - c
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rows": profile.rows,
                  "points": {k: round(v[0], 2) for k, v in parts.items()},
                  "losses": sum(len(v[1]) for v in parts.values()),
                  "duplicate_rows": profile.duplicate_rows, "duplicate_keys": profile.duplicate_keys,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "child failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _declared_for(path: Path) -> list[dict] | None:
    with open(path, encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip().split(",")
    return BENCH_FIELDS if header == COLUMNS else None


def measure(path: Path | str, declared: list[dict] | None = None) -> dict:
    """Time polars' own read and the quality scan of one file, each in its own process."""
    path = Path(path)
    declared = declared if declared is not None else _declared_for(path)
    with open(path, "rb") as handle:                   # same warm page cache for both runs
        while handle.read(1 << 24):
            pass
    baseline = _child(BASELINE, str(path))
    scan = _child(SCAN, str(path), json.dumps(declared, ensure_ascii=False))
    rows = scan["rows"]
    return {
        "file": str(path), "bytes": path.stat().st_size, "rows": rows,
        "baseline_s": round(baseline["seconds"], 2),
        "baseline_rows_per_s": round(baseline["rows"] / baseline["seconds"]),
        "baseline_cpu_s": round(baseline["cpu"], 2), "scan_cpu_s": round(scan["cpu"], 2),
        "cpu_ratio": round(baseline["cpu"] / scan["cpu"], 3),
        "baseline_peak_rss_mb": round(baseline["peak_rss_mb"]), "baseline": baseline["how"],
        "default_read_failed": baseline["default_read_failed"],
        "scan_s": round(scan["seconds"], 2), "scan_rows_per_s": round(rows / scan["seconds"]),
        "scan_peak_rss_mb": round(scan["peak_rss_mb"]),
        "ratio": round(baseline["seconds"] / scan["seconds"], 3),
        "content_points": scan["points"], "losses": scan["losses"],
        "duplicate_rows": scan["duplicate_rows"], "duplicate_keys": scan["duplicate_keys"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--path", type=Path, help="measure this file instead of the generated one")
    args = parser.parse_args()
    path = args.path or DATA_DIR / f"quality_{args.size_gb:g}gb.csv"
    if not path.exists():
        started = time.perf_counter()
        print(f"generating {path} ({args.size_gb:g} GB)...", flush=True)
        generate(path, args.size_gb)
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    result = measure(path)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"rows: {result['rows']:,}  file: {result['bytes'] / 1024**3:.2f} GB")
    if result["default_read_failed"]:
        print(f"polars' default pl.scan_csv(path).collect() failed: {result['default_read_failed']}")
    print(f"baseline {result['baseline']}: {result['baseline_s']:.1f} s, "
          f"{result['baseline_rows_per_s']:,} rows/s")
    print(f"quality scan:                {result['scan_s']:.1f} s, {result['scan_rows_per_s']:,} rows/s")
    print(f"CPU seconds: polars {result['baseline_cpu_s']:.1f}, scan {result['scan_cpu_s']:.1f} "
          f"(CPU ratio {result['cpu_ratio']:.2f}x; the machine is shared, so wall times vary)")
    print(f"ratio scan/polars: {result['ratio']:.2f}x (target >= 0.5x)   "
          f"scan peak RSS: {result['scan_peak_rss_mb']:,} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
