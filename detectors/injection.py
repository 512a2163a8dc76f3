"""Injection attempts: parameters, refused paths or user agents that maintained signatures recognise
(第三十条).

ClickHouse pre-selects the candidates: calls whose parameters hold anything but
plain names, numbers and words, refused calls whose path does, and user agents
holding an expression marker (Log4Shell's `${jndi:…}`, Shellshock). Of millions
of calls that is a handful of distinct texts; only those are inspected in Python
with the signatures of detectors/signatures.py (libinjection and the OWASP Core
Rule Set). Then the calls carrying a recognised text are counted per entity and
day. One confirmed attempt is an alert (low; two are medium; medium already for
one that would run code on the server), several are high: nobody types
`' UNION SELECT` into a search box by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features, signatures
from detectors.base import Alert, Detector, Window
from odwatch import clock

# Parameters made only of names and plain values (numbers, words, dates, Chinese text; no slash, no
# dot-dot) cannot carry an injection; a path of letters, digits and slashes without a dot-dot neither.
# Everything else is a candidate.
PLAIN_PARAMS = (r'^\{(\s*"[\w.-]{1,64}"\s*:\s*("[\w\p{Han} .:,+-]{0,200}"|-?[\d.]{1,30}|true|false|null)'
                r"\s*,?)*\s*\}$")
PLAIN_PATH = r"^[\w/.-]*$"

# Classes whose success runs the attacker's code on the server (Log4Shell, Shellshock, template injection).
REMOTE_CODE = ("command_injection", "java_injection", "php_injection", "nodejs_injection", "ssti")

# Each distinct parameter text (and refused path) is looked at once: a log repeats the same few
# thousand texts (page numbers, formats) millions of times. The filters must stay after the grouping.
CANDIDATES = """
SELECT params AS text, 'params' AS kind
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
GROUP BY params
HAVING params NOT IN ('', '{}') AND (NOT match(params, {plain_params:String}) OR position(params, '..') > 0)
UNION ALL
SELECT endpoint AS text, 'path' AS kind
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND status >= 400
GROUP BY endpoint
HAVING NOT match(endpoint, {plain_path:String}) OR position(endpoint, '..') > 0
UNION ALL
SELECT user_agent AS text, 'agent' AS kind
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND multiSearchAny(user_agent, {header_markers:Array(String)})  -- cheaper per call than grouping all
GROUP BY user_agent
SETTINGS query_plan_filter_push_down = 0
"""

ATTEMPTS = """
SELECT consumer_id, if(consumer_id = '', client_ip, '') AS anon_ip, toDate(ts) AS day,
       if(params IN {attack_params:Array(String)}, params, '') AS attack_params,
       if(status >= 400 AND endpoint IN {attack_paths:Array(String)}, endpoint, '') AS path,
       if(user_agent IN {attack_agents:Array(String)}, user_agent, '') AS agent,
       count() AS calls, countIf(status < 400) AS answered,
       groupUniqArray(5)(client_ip) AS ips, groupUniqArray(5)(dataset_id) AS datasets,
       min(ts) AS first_seen, max(ts) AS last_seen
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (params IN {attack_params:Array(String)}
       OR status >= 400 AND endpoint IN {attack_paths:Array(String)}
       OR user_agent IN {attack_agents:Array(String)})
GROUP BY consumer_id, anon_ip, day, attack_params, path, agent
"""



@dataclass(frozen=True)
class InjectionDetector(Detector):
    """Calls whose parameters (or refused paths) match injection signatures, per entity and day."""

    id = "injection"
    category = "injection"
    article = features.ARTICLE
    family = "malicious"

    several: int = 3                # attempts from which an entity-day is high
    max_samples: int = 5            # payloads kept in the evidence

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per entity-day with recognised attempts: `attempts` (calls), `payloads` (distinct texts),
        `classes` (attack classes), `answered` (attempts the gateway answered below 400), `samples`,
        addresses, datasets, first and last attempt."""
        start, end = features.read_range(window)
        candidates = client.query(CANDIDATES, parameters={
            "start": start, "end": end, "plain_params": PLAIN_PARAMS, "plain_path": PLAIN_PATH,
            "header_markers": list(signatures.HEADER_MARKERS)}).result_rows
        inspect = {"params": signatures.inspect_call, "path": lambda text: signatures.inspect_call("", text),
                   "agent": signatures.inspect_header}
        recognised: dict[tuple[str, str], tuple[str, ...]] = {}
        for text, kind in candidates:
            if classes := inspect[kind](text):
                recognised[(kind, text)] = classes
        if not recognised:
            return pl.DataFrame()
        rows = client.query(ATTEMPTS, parameters={
            "start": start, "end": end, "attack_params": sorted(t for k, t in recognised if k == "params"),
            "attack_paths": sorted(t for k, t in recognised if k == "path"),
            "attack_agents": sorted(t for k, t in recognised if k == "agent")}).named_results()
        by_entity: dict[tuple, dict] = {}
        for row in rows:
            classes = tuple(sorted({*recognised.get(("params", row["attack_params"]), ()),
                                    *recognised.get(("path", row["path"]), ()),
                                    *recognised.get(("agent", row["agent"]), ())}))
            row["params"] = row["attack_params"]
            key = (row["consumer_id"], row["anon_ip"], row["day"])
            entity = by_entity.setdefault(key, {
                "consumer_id": key[0], "anon_ip": key[1], "day": key[2], "attempts": 0, "answered": 0,
                "payloads": 0, "classes": set(), "samples": [], "ips": set(), "datasets": set(),
                "first_seen": row["first_seen"], "last_seen": row["last_seen"]})
            entity["attempts"] += row["calls"]
            entity["answered"] += row["answered"]
            entity["payloads"] += 1
            entity["classes"].update(classes)
            sample = row["path"] or row["params"] or f"User-Agent: {row['agent']}"
            entity["samples"].append(signatures.decoded(sample)[:200])
            entity["ips"].update(row["ips"])
            entity["datasets"].update(d for d in row["datasets"] if d)
            entity["first_seen"] = min(entity["first_seen"], row["first_seen"])
            entity["last_seen"] = max(entity["last_seen"], row["last_seen"])
        return pl.DataFrame([{
            **e, "classes": [c for c in signatures.ATTACK_CLASSES if c in e["classes"]],
            "samples": sorted(e["samples"])[:self.max_samples], "ips": sorted(e["ips"]),
            "datasets": sorted(e["datasets"]),
        } for e in by_entity.values()], infer_schema_length=None)

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Every entity-day with a recognised attempt: low for one, medium for two or for one that would
        run code on the server (REMOTE_CODE), high from `several`."""
        if frame.is_empty():
            return []
        return [self._alert(row) for row in frame.iter_rows(named=True) if row["attempts"] >= 1]

    def _alert(self, row: dict) -> Alert:
        attempts = row["attempts"]
        runs_code = any(c in REMOTE_CODE for c in row["classes"])
        severity = ("high" if attempts >= self.several else
                    "medium" if attempts >= 2 or runs_code else "low")
        window_start, window_end = clock.day_window(row["day"])
        datasets = row["datasets"]
        evidence = {
            "attempts": attempts,
            "attack_classes": row["classes"],
            "distinct_payloads": row["payloads"],
            "answered_below_400": row["answered"],
            "injection_samples": row["samples"],
            "client_ips": row["ips"],
            "datasets": datasets,
            "first_seen": clock.iso(row["first_seen"]),
            "last_seen": clock.iso(row["last_seen"]),
            "signatures": "libinjection (SQL injection, XSS); OWASP CRS 3.3.4 paranoia level 1; "
                          "template expressions",
            "thresholds": {"several": self.several},
        }
        return Alert(
            detector_id=self.id, category=self.category, article=self.article, severity=severity,
            score=float(attempts), message="alerts.injection",
            params={"attempts": attempts, "classes": row["classes"]},
            window_start=window_start, window_end=window_end, evidence=evidence,
            consumer_id=row["consumer_id"],
            client_ip=row["anon_ip"] or (row["ips"][0] if len(row["ips"]) == 1 else ""),
            dataset_id=datasets[0] if len(datasets) == 1 else "",
        )

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The entity's calls per minute over the day."""
        start, end = features.read_range(window)
        features.add_entity_day_minutes(client, alerts, start, end)
        return super().explain(client, window, alerts)
