"""Key sharing: one key from many networks within one hour."""

from datetime import date

from detect_patterns_support import add_datasets, at, daytime_habit, event, insert, whole_days

from detectors.key_sharing import KeySharingDetector

DAY = date(2026, 3, 10)
SHARED_IPS = ["1.2.3.4", "1.2.9.4", "23.4.5.6", "45.6.7.8", "67.8.9.10", "89.10.11.12", "101.1.1.1"]


def test_one_key_from_many_networks_across_a_clock_hour_is_flagged_with_the_networks(client):
    add_datasets(client, [("d1", "a1", "conditional", 1000)])
    insert(client, daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.1.1.1")
           + daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.1.1.2")
           + daytime_habit("lawful", DAY, 1, per_hour=30, client_ip="10.2.7.9"))   # two offices: lawful
    # 28 calls two minutes apart from 15:40 to 16:34: no clock hour holds all seven networks.
    insert(client, [event(at(DAY, 15 + (40 + 2 * n) // 60, (40 + 2 * n) % 60), "sharer", "d1", key_id="key-7",
                          client_ip=ip) for n, ip in enumerate(SHARED_IPS * 4)])
    alerts = KeySharingDetector().run(client, whole_days(DAY, DAY))
    assert [(a.consumer_id, a.key_id, a.dataset_id, a.agency_id) for a in alerts] == [
        ("sharer", "key-7", "d1", "a1")]
    ev = alerts[0].evidence
    assert ev["client_ips"] == sorted(SHARED_IPS)
    assert (ev["networks_24"], ev["networks_16"], ev["calls_in_window"]) == (7, 6, 28)
    assert (ev["first_call"], ev["last_call"]) == ("2026-03-10 15:40:00", "2026-03-10 16:34:00")
    assert ev["calls_by_network"]["1.2.3.0/24"] == 4
    assert sum(c for _, c in ev["per_minute"]) == 28
    again = KeySharingDetector().run(client, whole_days(DAY, DAY))
    assert [a.alert_id for a in again] == [a.alert_id for a in alerts]


def test_same_networks_spread_over_a_day_stay_quiet(client):
    # A travelling user: a different network every two hours is not sharing.
    insert(client, [event(at(DAY, 8 + 2 * n, 5), "traveller", "d1", client_ip=ip)
                    for n, ip in enumerate(SHARED_IPS)])
    assert KeySharingDetector().run(client, whole_days(DAY, DAY)) == []
