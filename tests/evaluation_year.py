"""A hand-built two-agency year for the evaluation and report tests.

Agency a1 (市交通委员会): two open datasets in two domains, one late weekly update,
four reviewed applications (one over 5 working days, one refusal without reason),
100 calls on one of its datasets, one complaint handled well, no violation.
Agency a2 (市卫生健康委员会): one dataset, a pending application past its deadline,
10 identified + 10 anonymous calls (20 in all), a complaint neither suspended in time nor
verified, and a high-severity violation by a consumer (a natural person) on its data.
"""

from __future__ import annotations

from datetime import date

from conftest import fresh_database

TODAY = date(2026, 11, 27)

REFERENCE = [
    """INSERT INTO agencies (agency_id, name, name_en, kind) VALUES
       ('a1', '市交通委员会', 'Transport', 'city_bureau'),
       ('a2', '市卫生健康委员会', 'Health', 'city_bureau')""",
    """INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                             update_frequency, published_at, last_updated, status) VALUES
       ('d1', 'a1', '公交线路', '交通', 'unconditional', 'api', '[]', 'monthly', '2024-05-01',
        '2025-12-20 09:00:00', 'open'),
       ('d2', 'a1', '企业运力', '经济', 'conditional', 'csv', '[]', 'weekly', '2025-03-01',
        '2025-12-17 09:00:00', 'open'),
       ('d3', 'a2', '医疗机构名录', '卫生', 'unconditional', 'json', '[]', 'daily', '2025-02-01',
        '2025-12-31 09:00:00', 'open')""",
    """INSERT INTO consumers (consumer_id, name, kind, credit_code, registered_at) VALUES
       ('c1', '上海某某科技有限公司', 'company', '91310000MA1FL0BQ3X', '2024-01-01 00:00:00'),
       ('c2', '张三', 'person', '', '2024-01-01 00:00:00')""",
    """INSERT INTO applications (application_id, consumer_id, dataset_id, agency_id, scenario,
                                 submitted_at, accepted_at, decided_at, decision, reason) VALUES
       ('p1', 'c1', 'd2', 'a1', 's', '2025-09-29 10:00:00', '2025-09-30 10:00:00',
        '2025-10-10 10:00:00', 'approved', ''),
       ('p2', 'c1', 'd2', 'a1', 's', '2025-09-25 10:00:00', '2025-09-26 10:00:00',
        '2025-10-09 10:00:00', 'approved', ''),
       ('p3', 'c1', 'd2', 'a1', 's', '2025-11-01 10:00:00', '2025-11-03 10:00:00',
        '2025-11-11 10:00:00', 'approved', ''),
       ('p4', 'c2', 'd2', 'a1', 's', '2025-11-30 10:00:00', '2025-12-01 10:00:00',
        '2025-12-02 10:00:00', 'rejected', ''),
       ('p5', 'c2', 'd3', 'a2', 's', '2025-12-09 10:00:00', '2025-12-10 10:00:00', NULL, 'pending', ''),
       ('p6', 'c2', 'd3', 'a2', 's', '2025-05-05 10:00:00', '2025-05-06 10:00:00',
        '2025-05-07 10:00:00', 'approved', ''),
       ('p7', 'c2', 'd3', 'a2', 's', '2025-06-30 10:00:00', '2025-07-01 10:00:00',
        '2025-07-03 10:00:00', 'approved', '')""",
    """INSERT INTO complaints (complaint_id, dataset_id, agency_id, complainant_kind, subject,
                               received_at, suspended_at, verified_at, resolved_at, outcome) VALUES
       ('k1', 'd1', 'a1', 'person', 'privacy', '2025-08-01 10:00:00', '2025-08-01 12:00:00',
        '2025-08-05 10:00:00', '2025-08-06 10:00:00', 'restored'),
       ('k2', 'd3', 'a2', 'company', 'trade_secret', '2025-10-09 10:00:00', '2025-10-11 10:00:00',
        NULL, NULL, 'pending')""",
    # d1 and d3 profiled (content measured), d2 not: its content dimensions are 未评估.
    """INSERT INTO quality_checks (run_id, dataset_id, agency_id, checked_at, total, dimensions, losses,
                                   profiled) VALUES
       ('r1', 'd1', 'a1', '2025-06-01 10:00:00', 80, {}, '[]', 0),
       ('r2', 'd1', 'a1', '2025-11-01 10:00:00', 90,
        {'completeness': 15, 'uniqueness': 10, 'validity': 15, 'consistency': 5, 'timeliness': 15,
         'metadata': 10, 'openness': 20}, '[]', 1),
       ('r2', 'd2', 'a1', '2025-11-01 10:00:00', 70,
        {'completeness': 15, 'uniqueness': 10, 'validity': 15, 'consistency': 5, 'timeliness': 0,
         'metadata': 8, 'openness': 12},
        concat('[{"dimension":"metadata","points":12,"cause":"字段缺少说明","field":"cap",',
               '"rule":"field_description","count":3,"example":"cap"}]'), 0),
       ('r1', 'd3', 'a2', '2025-10-01 10:00:00', 60,
        {'completeness': 6, 'uniqueness': 10, 'validity': 15, 'consistency': 5, 'timeliness': 15,
         'metadata': 20, 'openness': 20}, '[]', 1),
       ('r3', 'd3', 'a2', '2026-03-01 10:00:00', 100, {}, '[]', 0)""",
    """INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
       SELECT concat('e1-', toString(number)), toDateTime64('2025-06-02 10:00:00', 3, 'Asia/Shanghai'),
              'c1', 'd1', 'api', 200, 10, '10.0.0.1' FROM numbers(100)""",
    """INSERT INTO access_log (event_id, ts, consumer_id, dataset_id, channel, status, rows, client_ip)
       SELECT concat('e2-', toString(number)), toDateTime64('2025-06-02 11:00:00', 3, 'Asia/Shanghai'),
              if(number < 10, 'c2', ''), 'd3', 'download', 200, 1, '10.0.0.2' FROM numbers(20)""",
    """INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category,
                               description, alert_ids, recorded_at, recorded_by, severity, publicized) VALUES
       ('v1', 'c2', 'k-c2', 'd3', 'a2', 2, '从 10.9.9.9 批量抓取', ['al1'], '2025-11-20 10:00:00', 'sec',
        'high', 1)""",
]

# The catalog reloaded later: d1 renamed, closed, suspended and long stale, d2 updated in November 2026.
RELOADED_CATALOG = """
INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields, update_frequency,
                      published_at, last_updated, status) VALUES
   ('d1', 'a1', '公交线路（新）', '交通', 'closed', 'api', '[]', 'daily', '2024-05-01', '2020-01-01 09:00:00',
    'suspended'),
   ('d2', 'a1', '企业运力', '经济', 'conditional', 'csv', '[]', 'weekly', '2025-03-01', '2026-11-20 09:00:00',
    'open')
"""

def build_two_agency_year(client) -> None:
    for statement in REFERENCE:
        client.command(statement)


def insert_violation(client, violation_id: str, recorded_at: str, severity: str) -> None:
    """A confirmed violation by c1 on a1's dataset d1 (category 4: beyond the agreed scenarios)."""
    client.command("""
        INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category,
                                description, alert_ids, recorded_at, recorded_by, severity, publicized)
        VALUES ({id:String}, 'c1', 'k-c1', 'd1', 'a1', 4, '超范围使用', [{id:String}],
                {at:String}, 'sec', {severity:String}, 1)""",
                   parameters={"id": violation_id, "at": recorded_at, "severity": severity})


def shared_year() -> tuple:
    """A database holding the hand-built year, for a module's read-only tests (built once)."""
    settings, client = fresh_database()
    build_two_agency_year(client)
    return client, settings
