"""Page data benchmark: the data functions each analytics page calls, timed on the demo platform.

    .venv/bin/python bench/pages.py [--scale large] [--runs 20] [--seed 7] [--pages overview usage ...]

1. Reuses the demo platform under bench/data/platform_<scale>/ (the layout bench/reports.py
   builds: build_demo, then the quality scan), building it once when absent; runs the
   detectors once when it has no alerts yet, so the triage queue has real content.
2. For each page (and each section of the usage page), runs the same calls the page makes
   on one render, `--runs` times with varied filters (7 / 30 / 90 days ending on the
   platform's last day, all agencies or one, a domain, a channel, a consumer kind), after
   one warm-up render.
3. Prints per page p50 and p95 of one render's data calls (target: p95 <= 300 ms at ~10 M
   events), and the slowest call of each page at p95.

Every render is measured as a first load of its filters, with nothing kept from before (the
cache of warehouse.cache is cleared before it), except those that measure what the pages keep:
`usage:drill` (the rerun after two drill-down clicks: what the first render loaded is kept, the
new levels are loaded) and `evaluation` (the warehouse unchanged since the last render).
`evaluation:cold` is the evaluation after any write to the warehouse (or on the server's first
render): both years' inputs read and scored.

Prints figures; asserts nothing. The calls below mirror dashboard/pages/*.py; a page that
changes what it loads should change its entry here.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / "data"
sys.path.insert(0, str(ROOT))

from detectors import store, violations  # noqa: E402
from detectors.store import AlertFilters  # noqa: E402
from odwatch.settings import Settings  # noqa: E402
from reports import applications, complaints, evaluation_store, overview, quality, usage  # noqa: E402
from reports.filters import ReportFilters  # noqa: E402
from warehouse import cache  # noqa: E402

TARGET_MS = 300.0
KEEPING_PAGES = {"usage:drill", "evaluation"}    # rows that measure what the cache keeps
PLATFORM_FIGURES = """
SELECT (SELECT count() FROM access_log), (SELECT max(toDate(ts)) FROM access_log),
       (SELECT count() FROM alerts FINAL), (SELECT count() FROM datasets FINAL),
       (SELECT count() FROM agencies FINAL), (SELECT count() FROM quality_checks)
"""
AGENCIES_AND_DOMAINS = "SELECT DISTINCT agency_id, domain FROM datasets FINAL ORDER BY agency_id, domain"


class Timer:
    """Times each named call of one page render."""

    def __init__(self) -> None:
        self.calls: dict[str, float] = {}

    def __call__(self, name: str, action: Callable):
        started = time.perf_counter()
        result = action()
        self.calls[name] = self.calls.get(name, 0.0) + (time.perf_counter() - started) * 1000
        return result


# ---- what each page loads on one render (mirrors dashboard/pages/*.py) --------------------------

def overview_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    timer("open_datasets_by_class", lambda: overview.open_datasets_by_class(client, f))
    timer("traffic_summary", lambda: overview.traffic_summary(client, f))
    timer("alert_counts_by_severity", lambda: store.alert_counts_by_severity(client, agency_id=f.agency_id))
    timer("average_quality", lambda: overview.average_quality(client, f))
    timer("violations_in_year", lambda: overview.violations_in_year(client, f))
    timer("daily_traffic", lambda: overview.daily_traffic(client, f))
    timer("top_datasets", lambda: overview.top_datasets(client, f, limit=10))


def usage_top(client, f: ReportFilters, timer: Timer) -> None:
    """What every section of the usage page shows first: metrics and the trend."""
    timer("traffic_by_day", lambda: usage.traffic_by_day(client, f))
    timer("range_totals", lambda: usage.range_totals(client, f))


def usage_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    """The page as it opens: metrics, trend and the drill-down's first level (an agency user's
    filters name the agency, so the page opens at its datasets and their consumers)."""
    usage_top(client, f, timer)
    if not f.agency_id:
        timer("by_agency", lambda: usage.by_agency(client, f))
        return
    usage_drilled(client, f, timer)


def usage_drilled(client, f: ReportFilters, timer: Timer) -> None:
    """The datasets of one agency and the consumers of its busiest dataset."""
    datasets = timer("by_dataset", lambda: usage.by_dataset(client, f))
    narrowed = replace(f, dataset_id=datasets["dataset_id"][0]) if datasets.height and not f.dataset_id else f
    timer("by_consumer", lambda: usage.by_consumer(client, narrowed))


def usage_drill_section(client, settings, f: ReportFilters, timer: Timer) -> None:
    """The rerun after a click on the busiest agency's bar and one on its busiest dataset's.

    The usage functions keep what they loaded while the warehouse is unchanged (warehouse.cache),
    so the rerun finds the metrics, the trend and the agencies kept (each a look at the data
    version and a copy) and loads only the new levels: that agency's datasets and that dataset's
    consumers.
    """
    cache.clear()
    usage_top(client, f, Timer())                   # the page's first render: not timed
    narrowed = f
    if not f.agency_id:
        agencies = usage.by_agency(client, f)
        if agencies.height:
            narrowed = replace(f, agency_id=agencies["agency_id"][0])
    timer("kept", lambda: (usage.traffic_by_day(client, f), usage.range_totals(client, f),
                           f.agency_id or usage.by_agency(client, f)))
    usage_drilled(client, narrowed, timer)


def usage_mix_section(client, settings, f: ReportFilters, timer: Timer) -> None:
    usage_top(client, f, timer)
    timer("mix", lambda: usage.mix(client, f))


def usage_fields_section(client, settings, f: ReportFilters, timer: Timer) -> None:
    usage_top(client, f, timer)
    timer("top_fields", lambda: usage.top_fields(client, f))
    timer("field_heatmap", lambda: usage.field_heatmap(client, f))


def usage_operation_section(client, settings, f: ReportFilters, timer: Timer) -> None:
    usage_top(client, f, timer)
    timer("platform_operation", lambda: usage.platform_operation(client, f))


def quality_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    scores = timer("dataset_scores", lambda: quality.dataset_scores(client, f))
    timer("agency_scores", lambda: quality.agency_scores(client, f.date_to.year, f.agency_id))
    timer("score_trend", lambda: quality.score_trend(client, dataset_id=f.dataset_id, agency_id=f.agency_id))
    if scores:
        timer("lost_points", lambda: quality.lost_points(client, scores[0]["dataset_id"]))
    timer("overdue_updates", lambda: quality.overdue_updates(client, f))


def evaluation_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    timer("evaluate_year", lambda: evaluation_store.evaluate_year(client, settings, f.date_to.year))


def evaluation_cold(client, settings, f: ReportFilters, timer: Timer) -> None:
    """The evaluation page after any write to the warehouse: nothing kept."""
    cache.clear()
    timer("evaluate_year", lambda: evaluation_store.evaluate_year(client, settings, f.date_to.year))


def triage_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    timer("alert_counts_by_severity", lambda: store.alert_counts_by_severity(
        client, agency_id=f.agency_id, dataset_id=f.dataset_id, date_from=f.date_from, date_to=f.date_to))
    rows = []
    for status in ("new", "acknowledged"):   # the default "open" queue
        rows += timer(f"list_alerts({status})", lambda s=status: store.list_alerts(client, AlertFilters(
            status=s, dataset_id=f.dataset_id, agency_id=f.agency_id, date_from=f.date_from,
            date_to=f.date_to, limit=500)))
    if rows:
        worst = max(rows, key=lambda r: ("low", "medium", "high", "critical").index(r["severity"]))
        timer("get_alert", lambda: store.get_alert(client, worst["alert_id"]))


def violations_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    timer("list_violations", lambda: violations.list_violations(client, year=f.date_to.year,
                                                                agency_id=f.agency_id))


def applications_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    reviews = timer("application_reviews", lambda: applications.application_reviews(client, f))
    timer("summarize_reviews", lambda: applications.summarize_reviews(reviews))
    timer("expiring_agreements", lambda: applications.expiring_agreements(client, f, within_days=30))
    timer("overdue_usage_reports", lambda: applications.overdue_usage_reports(client, f))


def complaints_page(client, settings, f: ReportFilters, timer: Timer) -> None:
    timings = timer("complaint_timings", lambda: complaints.complaint_timings(client, f))
    timer("summarize_complaints", lambda: complaints.summarize_complaints(timings))


PAGES = {
    "overview": overview_page, "usage": usage_page, "usage:drill": usage_drill_section,
    "usage:mix": usage_mix_section,
    "usage:fields": usage_fields_section, "usage:operation": usage_operation_section,
    "quality": quality_page, "evaluation": evaluation_page,
    # Any write (new traffic, a confirmed violation, a quality scan, a sign-in) is a new data
    # version: the next render computes the evaluation afresh.
    "evaluation:cold": evaluation_cold,
    "triage": triage_page, "violations": violations_page, "applications": applications_page,
    "complaints": complaints_page,
}


# ---- the platform and the filters ---------------------------------------------------------------

def platform(scale: str, seed: int):
    """A client on bench/data/platform_<scale>, built once (same layout as bench/reports.py)."""
    from warehouse import connect

    settings = Settings(data_dir=DATA_DIR / f"platform_{scale}", clickhouse_url="", clickhouse_cluster="",
                        clickhouse_database="odwatch")
    marker = settings.data_dir / ".built"
    client = connect(settings)
    if not marker.exists():
        from demo.platform import build_demo
        from reports.quality import scan_catalog

        print(f"building the {scale} demo platform in {settings.data_dir} (once)...", flush=True)
        started = time.perf_counter()
        build_demo(client, settings, scale=scale, seed=seed, progress=True)
        scan_catalog(client, settings)
        marker.write_text(date.today().isoformat())
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    if client.query("SELECT count() FROM alerts").result_rows[0][0] == 0:
        from detectors.runner import run_detectors

        print("no alerts yet: running the detectors once...", flush=True)
        started = time.perf_counter()
        summary = run_detectors(client, settings)
        print(f"detectors: {summary.alerts} alerts in {time.perf_counter() - started:.0f} s", flush=True)
    return client, settings


def filter_sets(client, last_day: date, runs: int, seed: int) -> list[ReportFilters]:
    """Varied filters as users set them: range length, one agency or all, a domain, a channel, a kind."""
    rng = random.Random(seed)
    pairs = client.query(AGENCIES_AND_DOMAINS).result_rows
    agencies = sorted({a for a, _ in pairs})
    sets = []
    for i in range(runs):
        days = (7, 30, 90)[i % 3]
        f = ReportFilters(date_from=last_day - timedelta(days=days - 1), date_to=last_day)
        if i % 2 and agencies:
            f = replace(f, agency_id=rng.choice(agencies))
        if i % 5 == 4 and pairs:
            f = replace(f, domain=rng.choice([d for a, d in pairs if not f.agency_id or a == f.agency_id]
                                             or [pairs[0][1]]))
        if i % 4 == 3:
            f = replace(f, channel=rng.choice(["api", "download"]))
        if i % 6 == 5:
            f = replace(f, consumer_kind=rng.choice(["person", "company", "organisation", "anonymous"]))
        sets.append(f)
    return sets


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bench(scale: str, runs: int, seed: int, pages: list[str]) -> None:
    client, settings = platform(scale, seed)
    events, last_day, alerts, datasets, agencies, checks = client.query(PLATFORM_FIGURES).result_rows[0]
    print(f"platform {DATA_DIR / f'platform_{scale}'}: {events:,} events up to {last_day}, "
          f"{agencies} agencies, {datasets} datasets, {alerts:,} alerts, {checks:,} quality checks; "
          f"{runs} runs per page")
    sets = filter_sets(client, last_day, runs, seed)
    # Figures on a shared machine depend on its load; print it beside them.
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} CPUs")
    print(f"{'page':<24}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  {'target':<8} slowest call at p95")
    for name in pages:
        page = PAGES[name]
        page(client, settings, sets[0], Timer())               # warm-up render, not counted
        totals, per_call = [], defaultdict(list)
        for f in sets:
            if name not in KEEPING_PAGES:
                cache.clear()
            timer = Timer()
            page(client, settings, f, timer)
            totals.append(sum(timer.calls.values()))
            for call, ms in timer.calls.items():
                per_call[call].append(ms)
        p95 = percentile(totals, 0.95)
        slowest = max(per_call, key=lambda c: percentile(per_call[c], 0.95))
        verdict = "ok" if p95 <= TARGET_MS else "OVER"
        print(f"{name:<24}{statistics.median(totals):9.0f}{p95:9.0f}{max(totals):9.0f}  {verdict:<8} "
              f"{slowest} {percentile(per_call[slowest], 0.95):.0f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES),
                        help="only these pages (default: all)")
    args = parser.parse_args()
    bench(args.scale, args.runs, args.seed, args.pages)


if __name__ == "__main__":
    main()
