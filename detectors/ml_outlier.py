"""Unsupervised outliers: entity-hours unusual on several features at once (第三十条).

ClickHouse computes one feature vector per entity (consumer, or anonymous IP)
and hour: bytes and rows per call, distinct endpoints and datasets, the share of
calls with a user agent almost nobody else uses, of slow calls and of errors.
Four PyOD models (ECOD, IForest, COPOD, HBOS) are fitted on the run window plus
`lookback`; each model's scores are standardised against its own training scores
and the four are averaged. Only hours that stand out on at least `min_drivers`
features (each above the `driver_percentile` of the population) and score above
`min_score` standard deviations alert, so the rule stays quiet on a heavy user
who is merely big. The evidence names the features that drove the score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

import numpy as np
from clickhouse_connect.driver.client import Client

from detectors import features
from detectors.base import Alert, Detector, Window

FEATURES = ("bytes_per_call", "rows_per_call", "endpoints", "datasets", "rare_agent_share",
            "slow_share", "error_share")
# Volume-like features are compared on a log scale so a 20x jump counts the same for small and big users.
LOG_FEATURES = {"bytes_per_call", "rows_per_call"}

# A user agent is rare when few entities use it; a call is slow above the population's p95 latency.
ENTITY_HOURS = """
WITH
    agents AS (
        SELECT user_agent, uniq(consumer_id, if(consumer_id = '', client_ip, '')) AS users
        FROM access_log
        WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
        GROUP BY user_agent
    ),
    (SELECT quantile(0.95)(latency_ms) FROM access_log
     WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
    ) AS slow_ms
SELECT
    consumer_id,
    if(consumer_id = '', client_ip, '') AS anon_ip,
    toStartOfHour(ts) AS hour,
    count() AS calls,
    avg(bytes) AS bytes_per_call,
    avg(rows) AS rows_per_call,
    uniqExact(endpoint) AS endpoints,
    uniqExact(dataset_id) AS datasets,
    countIf(user_agent IN (SELECT user_agent FROM agents WHERE users <= {rare_agent_users:UInt64}))
        / calls AS rare_agent_share,
    countIf(latency_ms > slow_ms) / calls AS slow_share,
    countIf(status >= 400) / calls AS error_share,
    topK(1)(dataset_id)[1] AS top_dataset,
    topK(3)(user_agent) AS agents,
    topK(5)(endpoint) AS top_endpoints,
    groupUniqArray(5)(client_ip) AS some_ips,
    slow_ms
FROM access_log
WHERE ts >= {start:DateTime64(3, 'Asia/Shanghai')} AND ts < {end:DateTime64(3, 'Asia/Shanghai')}
GROUP BY consumer_id, anon_ip, hour
HAVING calls >= {min_calls:UInt64}
"""


@dataclass
class MlOutlierDetector(Detector):
    """PyOD ensemble over per-entity-hour features; alerts only the clear top with its drivers."""

    id = "ml_outlier"
    category = "ml_outlier"
    article = features.ARTICLE
    family = "malicious"
    lookback: ClassVar[timedelta] = timedelta(days=7)

    min_calls: int = 5                  # entity-hours below this are too thin to judge
    rare_agent_users: int = 2           # a user agent used by at most this many entities is rare
    driver_percentile: float = 0.99     # a feature drives the score above this share of the population
    min_drivers: int = 2                # unusual on several features at once
    min_score: float = 3.0              # combined standardised score
    max_fit_rows: int = 20_000          # models are fitted on a sample of this size
    random_state: int = 7

    def run(self, client: Client, window: Window) -> list[Alert]:
        start, end = features.read_range(window, self.lookback)
        result = client.query(ENTITY_HOURS, parameters={
            "start": start - self.lookback, "end": end, "min_calls": self.min_calls,
            "rare_agent_users": self.rare_agent_users}).named_results()
        rows = list(result)
        if len(rows) < 50:       # too few entity-hours to speak of a population
            return []
        matrix = self._matrix(rows)
        in_run = np.array([r["hour"] >= start for r in rows])
        percentiles, medians = self._percentiles(matrix)
        drivers = percentiles >= self.driver_percentile
        candidates = np.flatnonzero(in_run & (drivers.sum(axis=1) >= self.min_drivers))
        if candidates.size == 0:
            return []
        scores = self._ensemble(matrix, candidates)
        flagged = [(int(i), float(s)) for i, s in zip(candidates, scores, strict=True) if s >= self.min_score]
        return self._alerts(client, rows, flagged, percentiles, medians)

    @staticmethod
    def _matrix(rows: list[dict]) -> np.ndarray:
        columns = [[float(r[name]) for r in rows] for name in FEATURES]
        matrix = np.array(columns, dtype=float).T
        for j, name in enumerate(FEATURES):
            if name in LOG_FEATURES:
                matrix[:, j] = np.log1p(matrix[:, j])
        return matrix

    @staticmethod
    def _percentiles(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Share of the population strictly below each value, per feature; and each feature's median."""
        ordered = np.sort(matrix, axis=0)
        below = np.column_stack([np.searchsorted(ordered[:, j], matrix[:, j], side="left")
                                 for j in range(matrix.shape[1])])
        return below / matrix.shape[0], np.median(matrix, axis=0)

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

    def _alerts(self, client: Client, rows: list[dict], flagged: list[tuple[int, float]],
                percentiles: np.ndarray, medians: np.ndarray) -> list[Alert]:
        by_day: dict[tuple, list[tuple[int, float]]] = defaultdict(list)
        for i, score in flagged:
            row = rows[i]
            day = features.shanghai(row["hour"]).date()
            by_day[(row["consumer_id"], row["anon_ip"], day)].append((i, score))
        agencies = features.agencies_for(client, [rows[i]["top_dataset"] for i, _ in flagged])
        alerts = []
        for (consumer_id, anon_ip, day), hours in by_day.items():
            top_i, top_score = max(hours, key=lambda h: h[1])
            top = rows[top_i]
            explanation = self._explain(top, percentiles[top_i], medians)
            datasets = {rows[i]["top_dataset"] for i, _ in hours if rows[i]["datasets"] == 1}
            dataset_id = datasets.pop() if len(datasets) == 1 else ""
            window_start, window_end = features.day_window(day)
            who = consumer_id or f"anonymous {anon_ip}"
            drivers = ", ".join(e["feature"] for e in explanation if e["driver"])
            alerts.append(Alert(
                detector_id=self.id, category=self.category, article=self.article,
                severity=features.severity_for(top_score / self.min_score), score=round(top_score, 3),
                title=f"{who} unusual at {features.shanghai(top['hour']):%H}:00 on {drivers}",
                window_start=window_start, window_end=window_end,
                evidence={
                    "hours": [{"hour": features.shanghai(rows[i]["hour"]).strftime("%Y-%m-%d %H:00"),
                               "calls": rows[i]["calls"], "score": round(s, 2)} for i, s in sorted(hours)],
                    "top_hour_explanation": explanation,
                    "models": ["ECOD", "IForest", "COPOD", "HBOS"],
                    "combination": "mean of scores standardised against each model's training scores",
                    "user_agents": top["agents"], "endpoints": top["top_endpoints"],
                    "client_ips": top["some_ips"], "slow_call_ms": top["slow_ms"],
                    "thresholds": {"min_score": self.min_score, "min_drivers": self.min_drivers,
                                   "driver_percentile": self.driver_percentile},
                },
                consumer_id=consumer_id,
                client_ip=anon_ip or (top["some_ips"][0] if len(top["some_ips"]) == 1 else ""),
                dataset_id=dataset_id, agency_id=agencies.get(dataset_id, ""),
            ))
        return alerts

    def _explain(self, row: dict, percentiles: np.ndarray, medians: np.ndarray) -> list[dict]:
        """Each feature's value against the population median, drivers first."""
        explained = []
        for j, name in enumerate(FEATURES):
            median = float(np.expm1(medians[j]) if name in LOG_FEATURES else medians[j])
            value = float(row[name])
            explained.append({
                "feature": name, "value": round(value, 3), "population_median": round(median, 3),
                "times_median": round(value / median, 1) if median else None,
                "percentile": round(float(percentiles[j]) * 100, 1),
                "driver": bool(percentiles[j] >= self.driver_percentile),
            })
        return sorted(explained, key=lambda e: (not e["driver"], -e["percentile"]))
