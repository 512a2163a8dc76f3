"""Unsupervised outliers: entity-hours unusual on several features at once (第三十条).

ClickHouse computes one feature vector per entity (consumer, or anonymous IP)
and hour: bytes per row, distinct endpoints and datasets, the share of calls
with a user agent almost nobody else uses, of slow calls, of errors and of
methods other than GET. Volume is deliberately not a feature: a heavy user who
is merely big is not odd.

Four PyOD models (ECOD, IForest, COPOD, HBOS) are fitted, inside `score`, on a
sample of the entity-hours of the run window plus `lookback`; each model's scores are
standardised against its own training scores and the four are averaged. Only
hours unusual on at least `min_drivers` aspects (a feature `driver_z` robust
deviations above the population median; endpoints and datasets count as one
aspect) and scoring at least `min_score` alert. The evidence names, per feature,
the value, the population median, the robust z and the percentile.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import numpy as np
import polars as pl
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window, query_frame
from odwatch import clock

FEATURES = ("bytes_per_row", "endpoints", "datasets", "rare_agent_share", "slow_share", "error_share",
            "non_get_share")
# Size-like features are compared on a log scale so a 20x jump counts the same for small and big users.
LOG_FEATURES = {"bytes_per_row"}
# Endpoints and datasets move together (an endpoint is a dataset's records or download), so being broad
# on both counts as one unusual aspect, not two.
ASPECTS = [[FEATURES.index("endpoints"), FEATURES.index("datasets")]] + [
    [j] for j, name in enumerate(FEATURES) if name not in ("endpoints", "datasets")]

# A user agent is rare when few entities use it. A successful call is slow above the p99 latency of its
# channel's successful calls (a download is allowed to take longer than an API page; a server error's
# delay is not the caller's doing). Bytes per row, not per call, so whole-file downloads are not odd in
# themselves; over the calls that report rows only (a web server's log has none: 0, not its total bytes).
# Entity-hours are keyed by a hash of (entity, hour); most of them hold a call or two (anonymous
# visitors), so the thin ones are dropped by a cheap count before any feature is computed. Besides the
# features: whether the hour is one the run reports on (`in_run`; the others are the population of the
# look-back), and its one dataset and one address when it has only one, which the alert then names.
ENTITY_HOURS = """
WITH
    cityHash64(consumer_id, if(consumer_id = '', client_ip, ''), toStartOfHour(ts)) AS entity_hour,
    busy AS (
        SELECT cityHash64(consumer_id, if(consumer_id = '', client_ip, ''), toStartOfHour(ts)) AS key
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
        GROUP BY key
        HAVING count() >= {min_calls:UInt64}
    ),
    agents AS (
        SELECT user_agent, uniq(consumer_id, if(consumer_id = '', client_ip, '')) AS users
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
        GROUP BY user_agent
    ),
    (SELECT (groupArray(toString(channel)), groupArray(p99))
     FROM (SELECT channel, quantile(0.99)(latency_ms) AS p99 FROM access_log
           WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
             AND status < 400
           GROUP BY channel)
    ) AS slow_limits
SELECT
    entity_hour,
    any(consumer_id) AS consumer,       -- not named consumer_id: the key expression reads that column
    any(if(consumer_id = '', client_ip, '')) AS anon_ip,
    any(toStartOfHour(ts)) AS hour,
    count() AS calls,
    sumIf(bytes, rows > 0) / greatest(sum(rows), 1) AS bytes_per_row,
    uniqExact(endpoint) AS endpoints,
    uniqExact(dataset_id) AS datasets,
    countIf(user_agent IN (SELECT user_agent FROM agents WHERE users <= {rare_agent_users:UInt64}))
        / calls AS rare_agent_share,
    countIf(status < 400 AND latency_ms > transform(toString(channel), slow_limits.1, slow_limits.2, 0.0))
        / calls AS slow_share,
    countIf(status >= 400) / calls AS error_share,
    countIf(method != 'GET') / calls AS non_get_share,
    hour >= {report_start:DateTime64(3, 'Asia/Shanghai')} AS in_run,
    if(datasets = 1, any(dataset_id), '') AS only_dataset,
    if(min(client_ip) = max(client_ip), any(client_ip), '') AS only_ip
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND entity_hour IN busy
GROUP BY entity_hour
"""

# What a reader wants to see of the top hour of each alert.
DETAILS = """
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '') AS anon_ip,
    toStartOfHour(ts) AS hour,
    topK(3)(user_agent) AS agents,
    topK(5)(endpoint) AS top_endpoints,
    groupUniqArray(5)(client_ip) AS some_ips,
    sum(bytes) AS bytes_total,
    sum(rows) AS rows_total
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
  AND (consumer_id, anon_ip, hour) IN {keys:Array(Tuple(String, String, DateTime('Asia/Shanghai')))}
GROUP BY consumer_id, anon_ip, hour
"""


@dataclass(frozen=True)
class MlOutlierDetector(Detector):
    """PyOD ensemble over per-entity-hour features; alerts only the clear top with its drivers."""

    id = "ml_outlier"
    category = "ml_outlier"
    article = features.ARTICLE
    family = "malicious"
    lookback: ClassVar[timedelta] = timedelta(days=7)

    min_calls: int = 5                  # entity-hours below this are too thin to judge
    rare_agent_users: int = 2           # a user agent used by at most this many entities is rare
    driver_z: float = 3.5               # robust deviations above the median that make a feature a driver
    min_drivers: int = 3                # unusual on several aspects at once
    min_share_calls: int = 2            # a share feature drives only when it rests on this many calls
    min_score: float = 2.5              # combined standardised score
    max_fit_rows: int = 10_000          # models are fitted on a sample of this size
    random_state: int = 7

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        """One row per busy entity-hour of the run and its look-back: `consumer`, `anon_ip`, `hour`,
        `calls`, the FEATURES, `in_run`, `only_dataset` and `only_ip`."""
        start, end = features.read_range(window, self.lookback)
        return query_frame(client, ENTITY_HOURS, {
            "start": start - self.lookback, "report_start": start, "end": end, "min_calls": self.min_calls,
            "rare_agent_users": self.rare_agent_users})

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        """Fit the ensemble on the whole frame; alert the run's hours unusual on enough aspects."""
        if frame.height < 50:    # too few entity-hours to speak of a population
            return []
        # The engine returns groups in no set order, and IForest's subsamples (and the fit sample) are
        # drawn by position: a fixed order makes the same data give the same scores on every run.
        frame = frame.sort("consumer", "anon_ip", "hour")
        matrix = self._matrix(frame)
        in_run = frame["in_run"].cast(pl.Boolean).to_numpy()
        standing = Standing.of(matrix)
        standing.driving = standing.z >= self.driver_z
        # A share resting on a single call (one slow call in eight) is chance, not a pattern.
        shares = [j for j, name in enumerate(FEATURES) if name.endswith("_share")]
        calls = frame["calls"].to_numpy().astype(float)
        standing.driving[:, shares] &= matrix[:, shares] * calls[:, None] >= self.min_share_calls
        driving = standing.driving
        aspects = np.column_stack([driving[:, group].any(axis=1) for group in ASPECTS]).sum(axis=1)
        candidates = np.flatnonzero(in_run & (aspects >= self.min_drivers))
        if candidates.size == 0:
            return []
        scores = self._ensemble(matrix, candidates)
        flagged = [(int(i), float(s)) for i, s in zip(candidates, scores, strict=True) if s >= self.min_score]
        rows = {i: frame.row(i, named=True) for i, _ in flagged}
        return self._alerts(rows, flagged, standing)

    @staticmethod
    def _matrix(frame: pl.DataFrame) -> np.ndarray:
        matrix = np.column_stack([frame[name].to_numpy().astype(float) for name in FEATURES])
        for j, name in enumerate(FEATURES):
            if name in LOG_FEATURES:
                matrix[:, j] = np.log1p(matrix[:, j])
        return matrix

    def _ensemble(self, matrix: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Each model fitted on a sample; candidate scores standardised by the model's training scores."""
        # PyOD pulls in scikit-learn, seconds to import: only when a model actually runs.
        from pyod.models.copod import COPOD
        from pyod.models.ecod import ECOD
        from pyod.models.hbos import HBOS
        from pyod.models.iforest import IForest

        rng = np.random.default_rng(self.random_state)
        n = matrix.shape[0]
        sample = np.sort(rng.choice(n, self.max_fit_rows, replace=False)) if n > self.max_fit_rows else None
        train = matrix if sample is None else matrix[sample]
        # A feature nobody varies on (say, no errors anywhere) tells the models nothing and upsets moments.
        varying = train.std(axis=0) > 0
        train, scoring = train[:, varying], matrix[candidates][:, varying]
        # HBOS with automatic bins: no numba compilation on each start, and bins fit each feature's spread.
        models = [ECOD(), IForest(n_estimators=100, random_state=self.random_state), COPOD(),
                  HBOS(n_bins="auto")]
        combined = np.zeros(candidates.size)
        for model in models:
            model.fit(train)
            trained = model.decision_scores_
            scored = model.decision_function(scoring)
            combined += (scored - trained.mean()) / (trained.std() or 1.0)
        return combined / len(models)

    def _alerts(self, rows: dict[int, dict], flagged: list[tuple[int, float]],
                standing: Standing) -> list[Alert]:
        by_day: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for i, score in flagged:
            row = rows[i]
            day = clock.shanghai(row["hour"]).date()
            by_day[(row["consumer"], row["anon_ip"], day)].append((i, score))
        alerts = []
        for (consumer_id, anon_ip, day), hours in by_day.items():
            top_i, top_score = max(hours, key=lambda h: h[1])
            top = rows[top_i]
            explanation = self._explain(top, top_i, standing)
            datasets = {rows[i]["only_dataset"] for i, _ in hours if rows[i]["datasets"] == 1}
            dataset_id = datasets.pop() if len(datasets) == 1 else ""
            window_start, window_end = clock.day_window(day)
            drivers = [e["feature"] for e in explanation if e["driver"]]
            alerts.append(Alert(
                detector_id=self.id, category=self.category, article=self.article,
                severity=features.severity_for(top_score / self.min_score), score=round(top_score, 3),
                message="alerts.ml_outlier",
                params={"hour": f"{clock.shanghai(top['hour']):%H}:00", "drivers": drivers},
                window_start=window_start, window_end=window_end,
                evidence={
                    "hours": [{"hour": _hour_text(rows[i]["hour"]), "calls": rows[i]["calls"],
                               "score": round(s, 2)} for i, s in sorted(hours)],
                    "top_hour": _hour_text(top["hour"]),
                    "top_hour_explanation": explanation,
                    "models": ["ECOD", "IForest", "COPOD", "HBOS"],
                    "combination": "mean of scores standardised against each model's training scores",
                    "population_entity_hours": int(standing.z.shape[0]),
                    "calls": top["calls"],
                    "thresholds": {"min_score": self.min_score, "min_drivers": self.min_drivers,
                                   "driver_z": self.driver_z},
                },
                consumer_id=consumer_id, client_ip=anon_ip or top["only_ip"], dataset_id=dataset_id,
            ))
        return alerts

    def _explain(self, row: dict, i: int, standing: Standing) -> list[dict]:
        """Each feature's value against the population median, drivers first."""
        explained = []
        for j, name in enumerate(FEATURES):
            median = float(np.expm1(standing.median[j]) if name in LOG_FEATURES else standing.median[j])
            value = float(row[name])
            explained.append({
                "feature": name, "value": round(value, 3), "population_median": round(median, 3),
                "times_median": round(value / median, 1) if median else None,
                "robust_z": round(float(standing.z[i, j]), 1),
                "percentile": round(float(standing.percentile[i, j]) * 100, 1),
                "driver": bool(standing.driving[i, j]),
            })
        return sorted(explained, key=lambda e: (not e["driver"], -e["robust_z"]))

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """The top hour's user agents, endpoints, addresses, bytes and rows."""
        if not alerts:
            return alerts
        start, end = features.read_range(window, self.lookback)
        keys = [(a.consumer_id, "" if a.consumer_id else a.client_ip, _top_hour(a)) for a in alerts]
        details = {(d["consumer_id"], d["anon_ip"], clock.shanghai(d["hour"])): d
                   for d in client.query(DETAILS, parameters={"start": start, "end": end, "keys": keys}
                                         ).named_results()}
        for alert, key in zip(alerts, keys, strict=True):
            found = details.get(key)
            if found:
                alert.evidence.update({
                    "user_agents": found["agents"], "endpoints": found["top_endpoints"],
                    "client_ips": found["some_ips"], "bytes": found["bytes_total"],
                    "rows": found["rows_total"]})
        return super().explain(client, window, alerts)


def _hour_text(hour: datetime) -> str:
    return clock.shanghai(hour).strftime("%Y-%m-%d %H:00")


def _top_hour(alert: Alert) -> datetime:
    return clock.shanghai(datetime.strptime(alert.evidence["top_hour"], "%Y-%m-%d %H:%M"))


@dataclass
class Standing:
    """Where each entity-hour stands on each feature: robust z above the median, and percentile."""

    z: np.ndarray
    percentile: np.ndarray
    median: np.ndarray
    driving: np.ndarray | None = None       # which features drive each entity-hour, set by the detector

    @classmethod
    def of(cls, matrix: np.ndarray) -> Standing:
        median = np.median(matrix, axis=0)
        deviation = np.abs(matrix - median)
        # MAD, or for a feature where most are at the median (most hours have no errors) the mean deviation.
        scale = 1.4826 * np.median(deviation, axis=0)
        fallback = 1.2533 * deviation.mean(axis=0)
        scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
        ordered = np.sort(matrix, axis=0)
        below = np.column_stack([np.searchsorted(ordered[:, j], matrix[:, j], side="left")
                                 for j in range(matrix.shape[1])])
        return cls(z=(matrix - median) / scale, percentile=below / matrix.shape[0], median=median)
