"""The detector scoring harness (demo/scoring.py, `odwatch detectors score`): its matching rules on
hand-made alerts and episodes, and on the warehouse tables."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agreement_platform import insert

from demo.scoring import evaluate, evaluate_platform, matches
from detectors.base import Alert
from detectors.store import save_alerts
from odwatch.clock import SHANGHAI, day_window

DAY = date(2026, 3, 1)


def t(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def episode(episode_id, kind, start=None, end=None, **entity):
    start, end = start or t(10), end or t(14)
    base = {"consumer_id": "", "key_id": "", "client_ip": "", "dataset_id": ""}
    return {"episode_id": episode_id, "episode_type": kind, "starts_at": start, "ends_at": end,
            **base, **entity}


def alert(category, day=DAY, **entity):
    start, end = day_window(day)
    base = {"consumer_id": "", "key_id": "", "client_ip": "", "dataset_id": ""}
    return {"category": category, "window_start": start, "window_end": end, **base, **entity}


EPISODES = [
    episode("E1", "scraping", consumer_id="C1", dataset_id="D1"),
    episode("E2", "key_sharing", key_id="K9", dataset_id="D2"),
    episode("E3", "probing", client_ip="198.51.100.4"),
    episode("E4", "report_overdue", t(0), t(23, date(2026, 3, 20)), consumer_id="C5", dataset_id="D5"),
]


def test_an_alert_matches_on_any_entity_field_the_dataset_and_overlapping_time():
    e1, e2, e3, e4 = EPISODES
    assert matches(alert("scraping", consumer_id="C1", dataset_id="D1"), e1)
    assert not matches(alert("scraping", consumer_id="C1", dataset_id="D7"), e1)         # other dataset
    assert matches(alert("scraping", consumer_id="C1"), e1)                              # names no dataset
    assert not matches(alert("scraping", consumer_id="C1", dataset_id="D1", day=DAY + timedelta(days=1)), e1)
    assert matches(alert("key_sharing", consumer_id="C8", key_id="K9", dataset_id="D2"), e2)
    assert matches(alert("probing", client_ip="198.51.100.4", dataset_id="D3"), e3)     # episode names none
    assert not matches(alert("probing", client_ip="198.51.100.5"), e3)
    assert matches(alert("report_overdue", consumer_id="C5", dataset_id="D5", day=date(2026, 3, 12)), e4)


def test_recall_counts_only_alerts_of_the_episode_type_and_precision_counts_groups():
    alerts = [
        alert("scraping", consumer_id="C1", dataset_id="D1"),
        alert("burst", consumer_id="C1", dataset_id="D1"),            # right entity, other type: not recall
        alert("probing", consumer_id="C1", dataset_id="D1"),
        alert("key_sharing", key_id="K9", dataset_id="D2"),
        alert("quota_exceeded", consumer_id="C2", dataset_id="D1"),   # matches nothing: one false group…
        alert("quota_exceeded", consumer_id="C2", dataset_id="D4"),   # …same entity, category and day
        alert("quota_exceeded", consumer_id="C2", day=DAY + timedelta(days=1)),   # another day: another group
    ]
    result = evaluate(alerts, EPISODES)
    scores = {s.episode_type: s for s in result.per_type}
    assert (scores["scraping"].episodes, scores["scraping"].detected) == (1, 1)
    assert scores["key_sharing"].recall == 1.0
    assert scores["probing"].recall == 0.0 and result.missed["probing"] == ["E3"]
    assert scores["report_overdue"].recall == 0.0
    assert scores["burst"].episodes == 0 and scores["burst"].recall is None
    assert (result.alert_groups, result.false_groups) == (6, 2)
    assert result.precision == 4 / 6
    failures = result.failures()
    assert "recall of probing is 0.00, below 0.95" in failures
    assert "alert precision is 0.667, below 0.95" in failures
    assert not [f for f in failures if "scraping" in f]


def test_all_targets_met_means_no_failures():
    alerts = [alert("scraping", consumer_id="C1", dataset_id="D1"),
              alert("key_sharing", key_id="K9"),
              alert("probing", client_ip="198.51.100.4"),
              alert("report_overdue", consumer_id="C5", dataset_id="D5", day=date(2026, 3, 5))]
    result = evaluate(alerts, EPISODES)
    assert result.precision == 1.0 and result.failures() == []


def test_an_episode_kind_may_be_found_by_another_category():
    episodes = [episode("L1", "low_and_slow", client_ip="203.0.113.8", dataset_id="D1"),
                episode("B1", "day_one_burst", consumer_id="C9")]
    result = evaluate([alert("scraping", client_ip="203.0.113.8", dataset_id="D1"),
                       alert("probing", consumer_id="C9")], episodes)
    scores = {s.episode_type: s for s in result.per_type}
    assert scores["low_and_slow"].recall == 1.0 and scores["day_one_burst"].recall == 0.0
    # Categories no episode is about still show, without a recall.
    assert scores["probing"].episodes == 0 and scores["probing"].recall is None


def test_benign_look_alikes_are_reported_apart_and_count_against_precision():
    episodes = [*EPISODES, episode("H1", "benign.health_check", consumer_id="M1"),
                episode("H2", "benign.crawler", client_ip="66.249.66.10"),
                episode("H3", "benign.crawler", client_ip="66.249.66.0/24")]
    alerts = [alert("scraping", consumer_id="C1", dataset_id="D1"), alert("burst", consumer_id="M1"),
              alert("distributed_scraping", client_ip="66.249.66.0/24", dataset_id="D3")]
    result = evaluate(alerts, episodes)
    assert {b.kind: (b.entities, b.alerts, b.categories) for b in result.benign} == {
        "health_check": (1, 1, ["burst"]), "crawler": (2, 1, ["distributed_scraping"])}
    assert [b.kind for b in result.benign_alerting] == ["crawler", "health_check"]
    assert result.precision == 1 / 3
    assert "benign.health_check" not in {s.episode_type for s in result.per_type}
    assert "the benign look-alike health_check raised 1 alert(s) (burst)" in result.failures()
    assert result.as_dict()["benign_kinds_alerting"] == ["crawler", "health_check"]


def test_evaluate_platform_reads_stored_alerts_and_episodes(client):
    insert(client, "demo_episodes", [
        {"episode_id": "E1", "episode_type": "quota_exceeded", "consumer_id": "C1", "dataset_id": "D1",
         "starts_at": t(0), "ends_at": t(23)},
        {"episode_id": "E2", "episode_type": "no_agreement", "consumer_id": "C2", "dataset_id": "D2",
         "starts_at": t(9), "ends_at": t(11)},
    ])
    start, end = day_window(DAY)
    save_alerts(client, [Alert("agreement.quota_exceeded", "quota_exceeded", "第三十一条(五)", "high", 1.4,
                               "alerts.quota_exceeded.calls", start, end, consumer_id="C1",
                               dataset_id="D1"),
                         Alert("agreement.quota_exceeded", "quota_exceeded", "第三十一条(五)", "high", 1.4,
                               "alerts.quota_exceeded.calls", start, end, consumer_id="C3",
                               dataset_id="D1")])
    result = evaluate_platform(client)
    scores = {s.episode_type: s for s in result.per_type}
    assert scores["quota_exceeded"].recall == 1.0 and scores["no_agreement"].recall == 0.0
    assert result.precision == 0.5
