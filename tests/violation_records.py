"""Violation records as a platform holds them, for the read side of violations and the documents made
from it: one agency's dataset, a company (two keys: one restricted, one active) and a natural person (a
closed key), three violations (two publicized, one of them recorded at 23:30 on 31 December 2025) and
their measures."""


SETUP = [
    """INSERT INTO agencies (agency_id, name, name_en, kind)
       VALUES ('a1', '市交通委员会', 'T', 'city_bureau')""",
    """INSERT INTO datasets (dataset_id, agency_id, name, domain, open_class, format, fields,
                             update_frequency, published_at, last_updated) VALUES
       ('d1', 'a1', '公交线路', '交通', 'conditional', 'api', '[]', 'daily', '2024-01-01',
        '2026-11-01 00:00:00')""",
    """INSERT INTO consumers (consumer_id, name, kind, credit_code, registered_at) VALUES
       ('c1', '上海某某科技有限公司', 'company', '91310000MA1FL0BQ3X', '2024-01-01 00:00:00'),
       ('c2', '欧阳小明', 'person', '', '2024-01-01 00:00:00')""",
    """INSERT INTO api_keys (key_id, consumer_id, created_at, status) VALUES
       ('k1', 'c1', '2024-01-01 00:00:00', 'restricted'),
       ('k2', 'c1', '2024-01-01 00:00:00', 'active'),
       ('k3', 'c2', '2024-01-01 00:00:00', 'closed')""",
    """INSERT INTO violations (violation_id, consumer_id, key_id, dataset_id, agency_id, category,
                               description, alert_ids, recorded_at, recorded_by, severity, publicized) VALUES
       ('v1', 'c1', 'k1', 'd1', 'a1', 4, '超出协议场景,来自 10.1.2.3', ['x'], '2026-03-01 10:00:00', 's',
        'medium', 1),
       ('v2', 'c2', 'k3', 'd1', 'a1', 2, '翻页抓取', ['y'], '2025-12-31 23:30:00', 's', 'critical', 1),
       ('v3', 'c1', 'k2', 'd1', 'a1', 1, '未公示', [], '2026-05-01 10:00:00', 's', 'low', 0)""",
    """INSERT INTO measures (measure_id, violation_id, consumer_id, key_id, action, starts_at, ends_at,
                             decided_by, reason) VALUES
       ('m1', 'v1', 'c1', 'k1', 'restrict', '2026-03-02 00:00:00', '2026-12-31 00:00:00', 's', ''),
       ('m2', 'v2', 'c2', '', 'close', '2026-01-02 00:00:00', NULL, 's', '')""",
]


def add_violation_records(client) -> None:
    for statement in SETUP:
        client.command(statement)
