"""The read side of violations: records with measures, the gateway list, the public notice."""

from datetime import date

from detectors.violations import enforcement_list, list_violations, mask_person_name, public_notice

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


def _setup(client):
    for statement in SETUP:
        client.command(statement)


def test_list_violations_by_year_in_shanghai_time_with_measures(client):
    _setup(client)
    ids_2025 = [v["violation_id"] for v in list_violations(client, year=2025)]
    assert ids_2025 == ["v2"]            # 23:30 Shanghai on 31 December is still 2025
    v1 = next(v for v in list_violations(client) if v["violation_id"] == "v1")
    assert v1["measures"][0]["action"] == "restrict" and v1["article"] == "第三十一条(四)"
    assert v1["recorded_at"].hour == 10 and not v1["major"]
    assert [v["violation_id"] for v in list_violations(client, category=1)] == ["v3"]


def test_enforcement_list_holds_restricted_and_closed_keys_with_their_period(client):
    _setup(client)
    listing = {row["key_id"]: row for row in enforcement_list(client)}
    assert set(listing) == {"k1", "k3"}
    assert listing["k1"]["status"] == "restricted" and listing["k1"]["ends_at"].date() == date(2026, 12, 31)
    # A consumer-wide measure (no key named) covers the consumer's key.
    assert listing["k3"]["status"] == "closed" and listing["k3"]["ends_at"] is None
    assert listing["k3"]["violation_id"] == "v2"


def test_public_notice_names_companies_masks_persons_and_leaks_nothing(client):
    _setup(client)
    notice = {row["notice_id"]: row for row in public_notice(client)}
    assert set(notice) == {"v1", "v2"}
    assert notice["v1"]["subject"] == "上海某某科技有限公司"
    assert notice["v1"]["credit_code"] == "91310000MA1FL0BQ3X"
    assert notice["v2"]["subject"] == "欧***" and notice["v2"]["credit_code"] == ""
    assert notice["v2"]["measure"] == "关闭数据获取权限" and notice["v2"]["measure_until"] is None
    text = repr(list(notice.values()))
    assert "10.1.2.3" not in text and "k1" not in text and "欧阳小明" not in text


def test_mask_person_name():
    assert mask_person_name("张三") == "张*"
    assert mask_person_name("") == "个人"
