"""What a detector is, in one page.

A detector is a small estimator in the scikit-learn/PyOD habit: its parameters
are constructor arguments with defaults, it keeps no state between runs, and
finding alerts is split into three steps, of which only the first and the last
touch the engine:

    detector = BurstDetector(ratio=10)                   # parameters, with defaults
    frame = detector.features(client, window)            # SQL in ClickHouse -> polars.DataFrame
    alerts = detector.score(frame)                       # pure Python: frame + parameters -> alerts
    alerts = detector.explain(client, window, alerts)    # evidence, for the flagged entities only
    alerts = detector.run(client, window)                # the three steps above, in one call

`features(client, window)`
    One row per candidate entity and window (a consumer's day, a key's hour…),
    aggregated in ClickHouse, with whatever the rule needs as columns: counts,
    shares, page lists, and the baseline the row is judged against (the
    entity's own median, the dataset's norm, the agreement's quota). The raw
    log never comes back to Python. The query may leave out rows that could
    never pass `score` (a HAVING on the same thresholds): that keeps a run over
    millions of events in seconds. The decision itself is `score`'s.
`score(frame)`
    Pure: reads the frame and the constructor parameters, nothing else (no
    engine, no clock, no I/O). Decides which rows become alerts and with what
    severity, score, message (a catalog key and its parameters, rendered in the
    reader's language by detectors.messages), window and evidence. Unit tests call it on
    hand-built frames.
`explain(client, window, alerts)`
    SQL for the flagged entities only, for what a reader needs and a score does
    not: per-minute series, address breakdowns, the agency owning the dataset.
    It never adds or drops an alert. It is given the run window so the evidence
    covers the same calls the features did; where only the raw log can tell
    which address (or dataset) an alert is about, it names them too.

Identity: an alert id hashes (detector, consumer, key, IP, dataset, window), and
the window is a whole Shanghai day (or hour) whatever the run covered, so a
re-run or an incremental run replaces an alert instead of adding a copy.

Parameters: `get_params()` lists them, `with_params(**changes)` gives a new
detector with some changed (scikit-learn's `set_params`, but detectors are
immutable). A parameter the detector does not have is a `UserError` naming it,
the detector and the parameters it does have. The runner hands each detector the
run window widened by its `lookback`, the history it needs for a baseline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.messages import alert_title
from odwatch.errors import UserError

AGENCIES = """
SELECT dataset_id, agency_id
FROM datasets FINAL
WHERE dataset_id IN {dataset_ids:Array(String)}
"""


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
    message: str                    # catalog key of the title, e.g. "alerts.scraping" (detectors.messages)
    window_start: datetime
    window_end: datetime
    params: dict[str, Any] = field(default_factory=dict)      # the message's parameters
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

    def params_json(self) -> str:
        return json.dumps(self.params, ensure_ascii=False, sort_keys=True, default=str)

    def as_row(self) -> dict[str, Any]:
        """The fields a stored alert row has, for rendering it (detectors.messages)."""
        return {"message_key": self.message, "message_params": self.params, "consumer_id": self.consumer_id,
                "key_id": self.key_id, "client_ip": self.client_ip, "dataset_id": self.dataset_id}

    @property
    def title(self) -> str:
        """The title in the context's language, with ids (a stored alert gets names too)."""
        return alert_title(self.as_row())


def check_params(detector_id: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a parameter the detector does not have, naming what it does have."""
    known = list(known)
    unknown = [name for name in given if name not in known]
    if unknown:
        raise UserError(f"The detector '{detector_id}' has no parameter '{unknown[0]}'. "
                        f"Its parameters: {', '.join(known) or '(none)'}.")


class Detector:
    """Base class. A pattern detector is a frozen dataclass (its fields are its parameters) that sets
    the class attributes and implements `features` and `score`, and `explain` when it has evidence to
    add. `AgreementDetector` takes its id and parameters from a rule instead (detectors/agreement.py)."""

    id: ClassVar[str]
    category: ClassVar[str]
    article: ClassVar[str]
    family: ClassVar[str]                     # "malicious" | "agreement"
    lookback: ClassVar[timedelta] = timedelta(0)
    sliced: ClassVar[bool] = True             # a full run hands it the history a slice at a time

    def __new__(cls, *args: Any, **params: Any) -> Detector:
        # Checked here, before the dataclass __init__ would answer with a TypeError nobody can act on.
        if dataclasses.is_dataclass(cls):
            check_params(cls.id, params, [f.name for f in dataclasses.fields(cls)])
        return super().__new__(cls)

    def get_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def with_params(self, **changes: Any) -> Detector:
        """The same detector with some parameters changed."""
        return dataclasses.replace(self, **changes)

    def features(self, client: Client, window: Window) -> pl.DataFrame:
        raise NotImplementedError

    def score(self, frame: pl.DataFrame) -> list[Alert]:
        raise NotImplementedError

    def explain(self, client: Client, window: Window, alerts: list[Alert]) -> list[Alert]:
        """Evidence SQL for the flagged entities only; this default names each dataset's agency."""
        name_agencies(client, alerts)
        return alerts

    def run(self, client: Client, window: Window) -> list[Alert]:
        return self.explain(client, window, self.score(self.features(client, window)))


def query_frame(client: Client, sql: str, parameters: dict[str, Any]) -> pl.DataFrame:
    """A query's rows as a polars frame (a frame without columns when it found nothing)."""
    result = client.query(sql, parameters=parameters)
    return pl.DataFrame(dict(zip(result.column_names, result.result_columns, strict=True)))


def name_agencies(client: Client, alerts: list[Alert]) -> None:
    """Set the agency owning each alert's dataset (an alert about no one dataset has none)."""
    wanted = sorted({a.dataset_id for a in alerts if a.dataset_id and not a.agency_id})
    if not wanted:
        return
    owners = dict(client.query(AGENCIES, parameters={"dataset_ids": wanted}).result_rows)
    for alert in alerts:
        if alert.dataset_id and not alert.agency_id:
            alert.agency_id = owners.get(alert.dataset_id, "")
