"""What the monthly schedules send: the platform-operation report (a file for e-mail, its key figures
for robots and webhooks) and each agency's digest of its month (calls, review SLA, violations)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from clickhouse_connect.driver.client import Client

from detectors.violations import list_violations
from odwatch.i18n import format_number, format_percent, t
from odwatch.settings import Settings
from reports.applications import review_sla
from reports.export.operation import operation_report, parse_month, summary_lines, write_operation_report
from reports.filters import ReportFilters

REPORTS_DIR = Path("notify") / "reports"

AGENCY_CALLS = """
SELECT sum(calls) AS calls
FROM usage_daily_dataset
WHERE day BETWEEN {first:Date} AND {last:Date}
  AND dataset_id IN (SELECT dataset_id FROM datasets FINAL WHERE agency_id = {agency_id:String})
"""

AGENCY_ALERTS = """
SELECT count() FROM alerts FINAL
WHERE agency_id = {agency_id:String}
  AND toDate(window_start, 'Asia/Shanghai') BETWEEN {first:Date} AND {last:Date}
"""


def operation_report_file(
    client: Client, settings: Settings, month: str, fmt: str, today: date | None = None
) -> Path:
    """The month's report written under <data dir>/notify/reports/ (kept: e-mails attach it); `today`
    is the schedule's day, so a run on a month's first reads the month before whole."""
    out = settings.data_dir / REPORTS_DIR / f"平台运行情况报告-{month}.{fmt}"
    return write_operation_report(client, settings, month, fmt, out, today)


def operation_summary_lines(
    client: Client, settings: Settings, month: str, today: date | None = None
) -> list[tuple[str, str]]:
    return summary_lines(operation_report(client, month, today))


def agency_month_lines(client: Client, agency_id: str, month: str) -> list[tuple[str, str]]:
    """One agency's month: calls on its datasets, the review SLA (第十九条), alerts and violations on them."""
    first, last = parse_month(month)
    params = {"first": first, "last": last, "agency_id": agency_id}
    calls = int(client.query(AGENCY_CALLS, parameters=params).result_rows[0][0] or 0)
    alerts = int(client.query(AGENCY_ALERTS, parameters=params).result_rows[0][0])
    sla = review_sla(client, ReportFilters(date_from=first, date_to=last, agency_id=agency_id),
                     as_of=last + timedelta(days=1))
    row = sla.row(0, named=True) if sla.height else None
    violations = [v for v in list_violations(client, agency_id=agency_id)
                  if first <= v["recorded_at"].date() <= last]
    publicized = sum(1 for v in violations if v["publicized"])
    return [
        (t("notify.agency.calls"), t("notify.times", n=format_number(calls))),
        (t("notify.agency.reviewed"), t("notify.pieces", n=format_number(row["reviewed"] if row else 0))),
        (t("notify.agency.within_sla"), format_percent(row["share_within_sla"]) if row else "—"),
        (t("notify.agency.overdue"),
         t("notify.pieces", n=format_number((row["overdue"] + row["pending_overdue"]) if row else 0))),
        (t("notify.agency.alerts"), t("notify.count", n=format_number(alerts))),
        (t("notify.agency.violations"), t("notify.cases", n=format_number(len(violations)))),
        (t("notify.agency.publicized"), t("notify.cases", n=format_number(publicized))),
    ]
