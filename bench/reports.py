"""Annual report benchmark on the large demo platform, plus the quality-scan figures.

    .venv/bin/python bench/reports.py [--scale large] [--year 2026] [--quality-size-gb 1.0] [--skip-quality]

1. Reuses the demo platform under bench/data/platform_<scale>/ (built once with
   demo.platform.build_demo: ~10 M events and ~50 agencies at `large`; the quality
   scan of the catalog runs too, so the quality dimension has inputs).
2. Times `evaluate_year` and writing the annual assessment report as PDF, DOCX and
   XLSX from that evaluation (target: everything <= 30 s), and the whole
   `write_annual_report` path once more for PDF (evaluation included).
3. Calls QUALITY's bench/quality_scan.measure on its ~1 GB CSV (generated once) and
   prints rows/s of the scan and of polars' own read, their ratio, and peak RSS.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

from odwatch.settings import Settings  # noqa: E402


def _timed(label: str, action):
    """Run and print wall time, and this process's CPU time (the embedded engine runs in-process):
    on a shared machine the CPU time says what the work costs, the wall time what the load did."""
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{label:<38} {elapsed:8.2f} s wall {cpu:8.2f} s cpu", flush=True)
    return result, elapsed


def _platform(scale: str):
    """A client on the benchmark platform, built on first use and reused after."""
    from warehouse import connect

    settings = Settings(data_dir=DATA_DIR / f"platform_{scale}", clickhouse_database="odwatch")
    marker = settings.data_dir / ".built"
    client = connect(settings)
    if not marker.exists():
        from demo.platform import build_demo

        print(f"building the {scale} demo platform in {settings.data_dir} (once)...", flush=True)
        _timed("build_demo", lambda: build_demo(client, settings, scale=scale, progress=True))
        try:
            from reports.quality import scan_catalog

            _timed("quality scan_catalog", lambda: scan_catalog(client, settings))
        except ImportError:
            print("reports.quality.scan_catalog not available: the quality dimension will be left out")
        marker.write_text(date.today().isoformat())
    return client, settings


def _platform_figures(client) -> dict:
    counts = {}
    for table in ("access_log", "agencies", "datasets", "applications", "complaints", "quality_checks",
                  "violations"):
        counts[table] = client.query(f"SELECT count() FROM {table}").result_rows[0][0]
    return counts


def bench_annual(scale: str, year: int, out_dir: Path) -> dict:
    from reports.evaluation_store import evaluate_year
    from reports.export.annual import annual_document, render_annual, write_annual_report

    client, settings = _platform(scale)
    print("platform:", json.dumps(_platform_figures(client)), flush=True)
    evaluation, evaluate_s = _timed(f"evaluate_year({year})", lambda: evaluate_year(client, settings, year))
    print(f"  agencies evaluated: {len(evaluation.agencies)}, mean share of points evaluated: "
          f"{evaluation.key_figures['mean_measured_share']}")
    document, document_s = _timed("charts + report document (shared)",
                                  lambda: annual_document(evaluation, settings))
    figures = {"evaluate_s": round(evaluate_s, 2), "document_s": round(document_s, 2)}
    for fmt in ("pdf", "docx", "xlsx"):
        out = out_dir / f"annual_{year}.{fmt}"
        _, seconds = _timed(f"write {fmt}",
                            lambda fmt=fmt, out=out: render_annual(evaluation, settings, fmt, out, document))
        figures[f"{fmt}_s"] = round(seconds, 2)
        figures[f"{fmt}_bytes"] = out.stat().st_size
    steps = ("evaluate_s", "document_s", "pdf_s", "docx_s", "xlsx_s")
    figures["total_s"] = round(sum(figures[step] for step in steps), 2)
    _, end_to_end = _timed("write_annual_report(pdf) end to end",
                           lambda: write_annual_report(client, settings, year, "pdf", out_dir / "e2e.pdf"))
    figures["pdf_end_to_end_s"] = round(end_to_end, 2)
    return figures


def _quality_scan_module():
    spec = importlib.util.spec_from_file_location("quality_scan", ROOT / "bench" / "quality_scan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_quality(size_gb: float) -> dict:
    quality_scan = _quality_scan_module()
    path = DATA_DIR / f"quality_{size_gb:g}gb.csv"
    if not path.exists():
        print(f"generating {path} ({size_gb:g} GB, once)...", flush=True)
        _timed("generate quality CSV", lambda: quality_scan.generate(path, size_gb))
    result = quality_scan.measure(path)
    print(f"quality scan: {result['rows']:,} rows, {result['bytes'] / 1024**3:.2f} GB")
    baseline = f"{result['baseline_s']:.1f} s, {result['baseline_rows_per_s']:,} rows/s"
    print(f"  polars scan_csv().collect(): {baseline}")
    print(f"  quality scan:                {result['scan_s']:.1f} s, {result['scan_rows_per_s']:,} rows/s")
    print(f"  ratio scan/polars: {result['ratio']:.2f}x (target >= 0.5x)   "
          f"peak RSS {result['scan_peak_rss_mb']:,} MB (target < 2048 MB)")
    return result


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--year", type=int, default=None, help="default: the current year")
    parser.add_argument("--quality-size-gb", type=float, default=1.0)
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    year = args.year or date.today().year
    out_dir = DATA_DIR / "reports_out"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(_load())
    annual = bench_annual(args.scale, year, out_dir)
    print(f"annual report, all formats: {annual['total_s']:.2f} s (target <= 30 s); {_load()}")
    print(json.dumps({"annual": annual}, indent=2))
    if not args.skip_quality:
        quality = bench_quality(args.quality_size_gb)
        print(json.dumps({"quality_scan": {k: v for k, v in quality.items() if k != "losses"}}, indent=2))


if __name__ == "__main__":
    main()
