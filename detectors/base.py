"""The one small interface every detector follows, in the estimator habit.

A detector is a dataclass: its parameters are constructor fields with defaults
(overridable from `[detectors.<id>]` in the config), it keeps no state between
runs, and `run(client, window)` computes its features in ClickHouse and returns
alerts. Alert ids hash (detector, entity, dataset, window), so a re-run of the
same window replaces its alerts instead of adding new ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end), timezone-aware."""

    start: datetime
    end: datetime

    def widened(self, lookback: timedelta) -> Window:
        return Window(self.start - lookback, self.end)


@dataclass
class Alert:
    detector_id: str
    category: str
    article: str
    severity: str
    score: float
    title: str
    window_start: datetime
    window_end: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    consumer_id: str = ""
    key_id: str = ""
    client_ip: str = ""
    dataset_id: str = ""
    agency_id: str = ""

    @property
    def alert_id(self) -> str:
        identity = "|".join([
            self.detector_id, self.consumer_id, self.key_id, self.client_ip, self.dataset_id,
            self.window_start.isoformat(), self.window_end.isoformat(),
        ])
        return hashlib.sha256(identity.encode()).hexdigest()[:24]

    @property
    def group_key(self) -> str:
        """Similar alerts on the same entity share a group key and are shown together."""
        entity = self.consumer_id or self.key_id or self.client_ip
        return f"{self.category}|{entity}|{self.dataset_id}"

    def evidence_json(self) -> str:
        return json.dumps(self.evidence, ensure_ascii=False, sort_keys=True, default=str)


@dataclass
class Detector:
    """Base class: subclasses set the class attributes and implement `run`."""

    id: ClassVar[str]
    category: ClassVar[str]
    article: ClassVar[str]
    family: ClassVar[str]                     # "malicious" | "agreement"
    lookback: ClassVar[timedelta] = timedelta(0)

    @classmethod
    def from_config(cls, params: dict[str, Any] | None = None) -> Detector:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (params or {}).items() if k in known})

    def get_params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run(self, client: Client, window: Window) -> list[Alert]:
        raise NotImplementedError
