"""`odwatch detectors score`: how well the detectors find the demo platform's labelled episodes,
and whether they leave its benign look-alikes alone.

Matching (contracts.md): an alert matches an episode when some non-empty entity
field of the alert (consumer_id, key_id, client_ip) equals the episode's, the
dataset matches when the episode names one, and the time ranges overlap. An
alert that names no dataset (one spanning several) is not held to the
episode's dataset. A network alert names the network ("203.0.113.0/24") as its
address, as its episode does.

Recall per episode type counts only alerts of the category that finds it: its
own, or `EXPECTED_CATEGORY`'s (a low-and-slow walk is scraping, a day-one burst a
burst). Precision counts alert groups — by entity, category and Shanghai day —
that match no misuse episode as false. Benign look-alikes (episode type
`benign.<kind>`: shared egress, organic growth, health checks, nightly downloads,
broken clients, crawlers) are reported apart: which kinds raised anything, with
which categories. Targets: recall >= 0.95 for every type, precision >= 0.95, no
benign kind alerting.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from demo.episodes import BENIGN_PREFIX, EXPECTED_CATEGORY
from odwatch.clock import shanghai
from odwatch.errors import UserError
from odwatch.settings import Settings
from odwatch.vocabulary import ALERT_CATEGORIES

RECALL_TARGET = 0.95
PRECISION_TARGET = 0.95
ENTITY_FIELDS = ("consumer_id", "key_id", "client_ip")

EPISODES = """
SELECT episode_id, episode_type, consumer_id, key_id, client_ip, dataset_id, starts_at, ends_at, description
FROM demo_episodes FINAL
"""

ALERTS = """
SELECT alert_id, category, detector_id, consumer_id, key_id, client_ip, dataset_id, window_start, window_end
FROM alerts FINAL
"""


@dataclass
class TypeScore:
    episode_type: str
    episodes: int
    detected: int

    @property
    def recall(self) -> float | None:
        return self.detected / self.episodes if self.episodes else None


@dataclass
class BenignScore:
    kind: str
    entities: int
    alerts: int = 0
    categories: list[str] = field(default_factory=list)


@dataclass
class EvalResult:
    per_type: list[TypeScore]
    alert_groups: int
    false_groups: int
    missed: dict[str, list[str]] = field(default_factory=dict)       # episode type -> episode ids
    false_examples: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    benign: list[BenignScore] = field(default_factory=list)

    @property
    def benign_alerting(self) -> list[BenignScore]:
        return [b for b in self.benign if b.alerts]

    @property
    def precision(self) -> float | None:
        return (self.alert_groups - self.false_groups) / self.alert_groups if self.alert_groups else None

    def failures(self) -> list[str]:
        """Plain sentences for each target missed; empty when every target is met."""
        problems = [f"recall of {s.episode_type} is {s.recall:.2f}, below {RECALL_TARGET}"
                    for s in self.per_type if s.recall is not None and s.recall < RECALL_TARGET]
        if self.precision is not None and self.precision < PRECISION_TARGET:
            problems.append(f"alert precision is {self.precision:.3f}, below {PRECISION_TARGET}")
        if not any(s.episodes for s in self.per_type):
            problems.append("there are no labelled episodes to evaluate against")
        for kind in self.benign_alerting:
            problems.append(f"the benign look-alike {kind.kind} raised {kind.alerts} alert(s) "
                            f"({', '.join(kind.categories)})")
        return problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "per_type": [{**asdict(s), "recall": s.recall} for s in self.per_type],
            "alert_groups": self.alert_groups, "false_groups": self.false_groups,
            "precision": self.precision, "missed": self.missed, "false_examples": self.false_examples,
            "benign": [asdict(b) for b in self.benign],
            "benign_kinds_alerting": [b.kind for b in self.benign_alerting],
            "timings": self.timings, "failures": self.failures(),
        }


def entity_of(alert: dict[str, Any]) -> str:
    return next((alert[f] for f in ENTITY_FIELDS if alert.get(f)), "")


def matches(alert: dict[str, Any], episode: dict[str, Any]) -> bool:
    same_entity = any(alert.get(f) and alert.get(f) == episode.get(f) for f in ENTITY_FIELDS)
    if not same_entity:
        return False
    if episode.get("dataset_id") and alert.get("dataset_id") and alert["dataset_id"] != episode["dataset_id"]:
        return False
    return alert["window_start"] <= episode["ends_at"] and alert["window_end"] > episode["starts_at"]


def _index(episodes: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Episodes by (entity field, value): an alert only needs comparing with episodes sharing an entity."""
    index: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for episode in episodes:
        for f in ENTITY_FIELDS:
            if episode.get(f):
                index[(f, episode[f])].append(episode)
    return index


def _candidates(alert: dict[str, Any], index: dict) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for f in ENTITY_FIELDS:
        if alert.get(f):
            for episode in index.get((f, alert[f]), ()):
                seen[episode["episode_id"]] = episode
    return list(seen.values())


def expected_category(episode_type: str) -> str:
    """The alert category that finds an episode of this type."""
    return EXPECTED_CATEGORY.get(episode_type, episode_type)


def is_benign(episode: dict[str, Any]) -> bool:
    return episode["episode_type"].startswith(BENIGN_PREFIX)


def evaluate(alerts: list[dict[str, Any]], episodes: list[dict[str, Any]]) -> EvalResult:
    """Recall per episode type, alert-group precision and the benign kinds that raised anything, from
    plain alert and episode records."""
    misuse = [e for e in episodes if not is_benign(e)]
    lookalikes = [e for e in episodes if is_benign(e)]
    index, benign_index = _index(misuse), _index(lookalikes)
    detected: set[str] = set()
    groups: dict[tuple[str, str, date], bool] = {}
    examples: dict[tuple[str, str, date], dict[str, Any]] = {}
    raised: dict[str, list[str]] = defaultdict(list)
    for alert in alerts:
        hits = [e for e in _candidates(alert, index) if matches(alert, e)]
        detected.update(e["episode_id"] for e in hits
                        if expected_category(e["episode_type"]) == alert["category"])
        key = (entity_of(alert), alert["category"], shanghai(alert["window_start"]).date())
        groups[key] = groups.get(key, False) or bool(hits)
        examples.setdefault(key, alert)
        for kind in {e["episode_type"] for e in _candidates(alert, benign_index) if matches(alert, e)}:
            raised[kind].append(alert["category"])
    found_by = {expected_category(e["episode_type"]) for e in misuse}
    types = sorted({e["episode_type"] for e in misuse} | (set(ALERT_CATEGORIES) - found_by),
                   key=_category_order)
    per_type, missed = [], {}
    for kind in types:
        of_kind = [e for e in misuse if e["episode_type"] == kind]
        found = [e for e in of_kind if e["episode_id"] in detected]
        per_type.append(TypeScore(kind, len(of_kind), len(found)))
        lost = sorted(e["episode_id"] for e in of_kind if e["episode_id"] not in detected)
        if lost:
            missed[kind] = lost
    false_keys = [k for k, hit in groups.items() if not hit]
    false_examples = [_brief(examples[k]) for k in sorted(false_keys, key=str)[:20]]
    benign = [BenignScore(kind.removeprefix(BENIGN_PREFIX),
                          sum(e["episode_type"] == kind for e in lookalikes),
                          len(raised.get(kind, [])), sorted(set(raised.get(kind, []))))
              for kind in sorted({e["episode_type"] for e in lookalikes})]
    return EvalResult(per_type, len(groups), len(false_keys), missed, false_examples, benign=benign)


def _category_order(kind: str) -> tuple[int, str]:
    category = expected_category(kind)
    position = ALERT_CATEGORIES.index(category) if category in ALERT_CATEGORIES else len(ALERT_CATEGORIES)
    return (position, kind != category, kind)


def _brief(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in alert.items()}


def _records(client: Client, sql: str) -> list[dict[str, Any]]:
    result = client.query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def evaluate_platform(client: Client) -> EvalResult:
    """Evaluate the alerts stored in this database against its demo_episodes."""
    return evaluate(_records(client, ALERTS), _records(client, EPISODES))


def run_eval(scale: str = "small", seed: int = 7, *, data_dir: Path | None = None,
             progress: bool = False, detector_settings: Settings | None = None) -> EvalResult:
    """Build the demo platform on a scratch data directory, run every detector, evaluate.

    The scratch directory is removed afterwards unless `data_dir` is given (then it is kept and reused
    when it already holds a platform).
    """
    try:
        from demo.platform import build_demo
    except ImportError as exc:
        raise UserError("The demo platform generator (demo.platform) is not available.") from exc
    from detectors.runner import run_detectors
    from warehouse import connect

    scratch = data_dir or Path(tempfile.mkdtemp(prefix="odwatch-eval-"))
    base = detector_settings or Settings()
    settings = base.model_copy(update={"data_dir": scratch, "clickhouse_url": "", "clickhouse_cluster": "",
                                       "clickhouse_database": "odwatch_eval"})
    try:
        client = connect(settings)
        timings = {}
        tick = time.perf_counter()
        if not int(client.query("SELECT count() FROM demo_episodes").result_rows[0][0]):
            build_demo(client, settings, scale=scale, seed=seed, progress=progress)
        timings["build_s"] = round(time.perf_counter() - tick, 1)
        # A reused platform may hold alerts of an earlier detector version: start from none.
        for table in ("alerts", "alert_events"):
            client.command(f"TRUNCATE TABLE {table}")
        tick = time.perf_counter()
        summary = run_detectors(client, settings, progress=progress)
        timings["detect_s"] = round(time.perf_counter() - tick, 1)
        result = evaluate_platform(client)
        result.timings = {**timings, "events": summary.events, "alerts": summary.alerts}
        if summary.errors:
            result.timings["detector_errors"] = summary.errors
        return result
    finally:
        if data_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
