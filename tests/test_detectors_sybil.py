"""Sybil harvesting's score on hand-built frames: several accounts behind one IP sharing out a dataset."""

from datetime import date

import polars as pl

from detectors.sybil import SybilHarvestDetector
from odwatch.clock import day_window

DAY = date(2026, 3, 10)


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
