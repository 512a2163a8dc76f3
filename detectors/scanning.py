"""Scanning: requests for well-known sensitive paths, or for many paths that do not exist (第三十条).

Scanners sweep the internet for admin consoles (`/wp-login.php`, `/administrator/`,
`/phpmyadmin/`), configuration and version-control files (`.env`, `/.git/`,
`wp-config.php`) and the backups and editor files left beside them (`.bak`,
`.old`, `~`), one to a few requests per address. Nothing of an open-data API
lives there, so one such request is an alert (low), several are more. The list
is the OWASP Core Rule Set's restricted files (vendored in detectors/crs/, rule
930130) and the admin consoles and backup names of the OWASP Web Security Testing
Guide (WSTG-CONF-04, WSTG-CONF-05). An address that is refused on many different
paths in a day is scanning too, whatever the paths: the paths are compared with
the dataset id taken out, so a prober refused on many datasets of one endpoint is
the probing detector's, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features, signatures
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

ADMIN_CONSOLES = (
    "/wp-login.php", "/wp-admin", "/administrator/", "/admin.php", "/admin/", "/phpmyadmin", "/pma/",
    "/myadmin/", "/adminer", "/manager/html", "/host-manager/", "/jmx-console", "/web-console",
    "/console/login", "/solr/admin", "/actuator", "/server-status", "/server-info", "/xmlrpc.php",
    "/cgi-bin/", "/boaform/", "/hnap1", "/.well-known/acme-challenge/../", "/vendor/phpunit",
    "/owa/auth", "/remote/login", "/jenkins/login", "/druid/login.html", "/nacos/",
    # WordPress's fingerprint and plugin folders, which scanners ask for before its login page.
    "/wlwmanifest.xml", "/wp-content/plugins/", "/wp-includes/",
)
# Backups and editor leftovers (WSTG-CONF-04): a suffix, or an archive of the whole site.
BACKUP_FILES = (r"(\.(bak|old|orig|save|swp|swo|tmp|backup|sql|inc|dist)|~)$"
                r"|/(backup|backups|www|wwwroot|site|web|db|database|dump|data)\.(zip|rar|tar|tar\.gz|tgz|7z|sql)$")
REFUSED = (401, 403, 404, 405)

# The paths are judged once each (a log has thousands of distinct paths, not millions), then the calls
# to a sensitive path, or refused, are grouped per entity and day. The filter must stay after the
# grouping: pushed down, it would search every call's path for every phrase.
SENSITIVE_PATHS = """
SELECT endpoint
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
GROUP BY endpoint
HAVING multiSearchAnyCaseInsensitive(endpoint, {phrases:Array(String)})
    OR match(lower(endpoint), {backups:String})
SETTINGS query_plan_filter_push_down = 0
"""

SCANS = """
WITH
    endpoint IN {sensitive_paths:Array(String)} AS sensitive,
    status IN {refused:Array(UInt16)} AS refused,
    if(dataset_id = '', endpoint, replaceAll(endpoint, dataset_id, '{dataset}')) AS template
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '') AS anon_ip,
    toDate(ts) AS day,
    count() AS calls,
    countIf(sensitive) AS sensitive_calls,
    uniqExactIf(endpoint, sensitive) AS sensitive_paths,
    groupUniqArrayIf(10)(endpoint, sensitive) AS sensitive_samples,
    countIf(refused) AS refused_calls,
    uniqExactIf(template, refused) AS refused_paths,
    groupUniqArrayIf(10)(template, refused) AS refused_samples,
    groupUniqArray(5)(client_ip) AS ips,
    groupUniqArray(3)(user_agent) AS agents,
    min(ts) AS first_seen,
    max(ts) AS last_seen
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (sensitive OR refused)
GROUP BY consumer_id, anon_ip, day
HAVING sensitive_paths > 0 OR refused_paths >= {min_refused_paths:UInt64}
"""



def sensitive_phrases() -> list[str]:
    """The path fragments no client of the platform has business asking for."""
    return sorted({*signatures.restricted_files(), *ADMIN_CONSOLES}, key=str.lower)


@dataclass(frozen=True)
class ScanningDetector(Detector):
    """Requests for sensitive paths, or refusals on many distinct paths, by one entity in one day."""

    id = "scanning"
    category = "scanning"
    article = features.ARTICLE
    family = "malicious"

    min_refused_paths: int = 10     # distinct refused paths (dataset ids taken out) that make a sweep

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per entity-day that asked for a sensitive path or was refused on many: its calls, the
        sensitive paths (count and samples), the refused distinct paths (count and samples), addresses,
        user agents, first and last call."""
        start, end = features.read_range(window)
        sensitive = [row[0] for row in client.query(SENSITIVE_PATHS, parameters={
            "start": start, "end": end, "phrases": sensitive_phrases(), "backups": BACKUP_FILES}).result_rows]
        return query_frame(client, SCANS, {
            "start": start, "end": end, "sensitive_paths": sensitive, "refused": list(REFUSED),
            "min_refused_paths": self.min_refused_paths})

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """A sensitive path is enough; so are refusals on `min_refused_paths` distinct paths."""
        if frame.is_empty():
            return []
        return [self._alert(row) for row in frame.iter_rows(named=True)
                if row["sensitive_paths"] > 0 or row["refused_paths"] >= self.min_refused_paths]

    def _severity(self, row: dict) -> str:
        sensitive, sweep = row["sensitive_paths"], row["refused_paths"] / self.min_refused_paths
        if sensitive >= 20 or sweep >= 10:
            return "critical"
        if sensitive >= 5 or sweep >= 3:
            return "high"
        if sensitive >= 2 or sweep >= 1:
            return "medium"
        return "low"

    def _alert(self, row: dict) -> Alert:
        window_start, window_end = clock.day_window(row["day"])
        samples = sorted(row["sensitive_samples"]) or sorted(row["refused_samples"])
        evidence = {
            "calls": row["calls"],
            "sensitive_paths": sorted(row["sensitive_samples"]),
            "sensitive_calls": row["sensitive_calls"],
            "refused_paths": row["refused_paths"],
            "refused_path_samples": sorted(row["refused_samples"]),
            "refused_calls": row["refused_calls"],
            "client_ips": row["ips"],
            "user_agents": row["agents"],
            "first_seen": clock.iso(row["first_seen"]),
            "last_seen": clock.iso(row["last_seen"]),
            "thresholds": {"min_refused_paths": self.min_refused_paths},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article, severity=self._severity(row),
            score=float(row["sensitive_paths"] + row["refused_paths"] / self.min_refused_paths),
            message="alerts.scanning" if row["sensitive_paths"] else "alerts.scanning.sweep",
            params={"paths": row["sensitive_paths"], "sample": samples[0] if samples else "",
                    "refused_paths": row["refused_paths"]},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=row["consumer_id"],
            client_ip=row["anon_ip"] or (row["ips"][0] if len(row["ips"]) == 1 else ""),
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The entity's calls per minute over the day."""
        start, end = features.read_range(window)
        features.add_entity_day_minutes(client, alerts, start, end)
        return super().explain(client, window, alerts)
