"""Sybil harvesting: several consumers behind one IP splitting one dataset."""

from datetime import date

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.sybil import SybilHarvestDetector

DAY = date(2026, 3, 10)


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
