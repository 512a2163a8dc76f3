"""Sybil harvesting: several consumers behind one address sharing out one dataset; the score on
hand-built frames, then the detector on the engine.
"""

from datetime import date

import polars as pl
from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.sybil import SybilHarvestDetector
from odwatch.clock import day_window

DAY = date(2026, 3, 10)


# ---- The score on hand-built frames (no engine) ------------------------------------------------------------

def member(consumer_id: str, first: int, last: int, *, call_quota: int = 100, row_quota: int = 0) -> dict:
    pages = last - first + 1
    return {"consumer_id": consumer_id, "calls": pages, "pages": pages, "first_page": first,
            "last_page": last, "rows": pages * 100, "daily_call_quota": call_quota,
            "daily_row_quota": row_quota}


def group(*members: dict, pages_union: int | None = None) -> dict:
    pages_sum = sum(m["pages"] for m in members)
    return {"client_ip": "10.9.9.9", "dataset_id": "d1", "day": DAY, "consumers": len(members),
            "members": list(members), "pages_sum": pages_sum,
            "pages_union": pages_sum if pages_union is None else pages_union,
            "rows_total": sum(m["rows"] for m in members)}


def score(*groups: dict, **params) -> list:
    return SybilHarvestDetector(**params).score(pl.DataFrame(list(groups)))


def test_members_walking_disjoint_slices_of_one_dataset_are_flagged():
    [alert] = score(group(member("a", 1, 30), member("b", 31, 60), member("c", 61, 90)))
    # Strength: 3 / 3 consumers × 90 / 60 pages.
    assert alert.severity == "medium" and alert.score == 1.5
    assert (alert.client_ip, alert.dataset_id, alert.consumer_id) == ("10.9.9.9", "d1", "")
    assert (alert.window_start, alert.window_end) == day_window(DAY)
    evidence = alert.evidence
    assert [m["consumer_id"] for m in evidence["members"]] == ["a", "b", "c"]
    assert evidence["all_members_under_quota"] is True and evidence["overlap_pages"] == 0
    first = evidence["members"][0]
    assert first["daily_call_quota"] == 100 and first["daily_row_quota"] is None      # 0: no row quota


def test_too_few_members_pages_or_too_much_overlap_stay_quiet():
    assert score(group(member("a", 1, 45), member("b", 46, 90))) == []                 # two members
    assert score(group(member("a", 1, 15), member("b", 16, 30), member("c", 31, 45))) == []   # 45 pages
    # Colleagues behind one NAT reading the same pages: 60 distinct of 120 read.
    assert score(group(member("a", 1, 40), member("b", 1, 40), member("c", 1, 40), pages_union=60)) == []


def test_a_member_over_its_quota_is_told_apart():
    [alert] = score(group(member("a", 1, 30), member("b", 31, 60, call_quota=20), member("c", 61, 90)))
    assert [m["under_quota"] for m in alert.evidence["members"]] == [True, False, True]
    assert alert.evidence["all_members_under_quota"] is False


# ---- The detector on the engine: hand-built access logs ----------------------------------------------------

def test_consumers_splitting_pages_from_one_ip_are_flagged_with_each_share(client):
    add_datasets(client, [("d1", "a1", "conditional", 40_000)])
    client.insert("agreements", [["ag1", "s1", "d1", 500, 100_000], ["ag2", "s2", "d1", 500, 100_000]],
                  column_names=["agreement_id", "consumer_id", "dataset_id", "daily_call_quota",
                                "daily_row_quota"])
    # Colleagues behind one office NAT reading the same first pages: lawful.
    insert(client, [e for c in ("o1", "o2", "o3", "o4")
                    for e in daytime_habit(c, DAY, 1, per_hour=20, client_ip="10.8.8.8")])
    insert(client, [event(at(DAY, 10 + k, n // 60, n % 60), f"s{k + 1}", "d1", client_ip="203.0.113.50",
                          rows=100, params={"page": 40 * k + n + 1, "page_size": 100})
                    for k in range(4) for n in range(40)])
    alerts = SybilHarvestDetector().run(client, whole_days(DAY, DAY))
    assert [(a.client_ip, a.consumer_id, a.dataset_id, a.agency_id) for a in alerts] == [
        ("203.0.113.50", "", "d1", "a1")]
    ev = alerts[0].evidence
    assert (ev["consumers"], ev["distinct_pages_together"], ev["overlap_pages"]) == (4, 160, 0)
    assert [(m["consumer_id"], m["first_page"], m["last_page"]) for m in ev["members"]] == [
        ("s1", 1, 40), ("s2", 41, 80), ("s3", 81, 120), ("s4", 121, 160)]
    assert ev["members"][0]["daily_call_quota"] == 500 and ev["all_members_under_quota"] is True
    assert sum(c for _, c in ev["per_minute"]) == 160
    assert SybilHarvestDetector().run(client, whole_days(DAY, DAY))[0].alert_id == alerts[0].alert_id


def test_office_nat_reading_the_same_pages_stays_quiet(client):
    insert(client, [event(at(DAY, 10, n % 60), c, "d1", client_ip="10.8.8.8", params={"page": n % 30 + 1})
                    for c in ("o1", "o2", "o3") for n in range(90)])
    assert SybilHarvestDetector().run(client, whole_days(DAY, DAY)) == []
