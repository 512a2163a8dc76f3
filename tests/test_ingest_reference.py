"""Reference data: validated like the access log, upserted by id, bad rows quarantined with reasons."""

from __future__ import annotations

import json

import pytest

from ingest.reference import load_reference_dir
from odwatch import codes
from odwatch.errors import UserError

GOOD_CODE = "91310000MA1FL4XK2" + codes.check_char("91310000MA1FL4XK2")
ORG_CODE = "52310000MJ5013891" + codes.check_char("52310000MJ5013891")


REASONS = "SELECT reason FROM rejected_rows FINAL ORDER BY line_no"


def write_csv(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def test_consumers_with_a_bad_credit_code_are_rejected_with_the_reason(client, tmp_path):
    bad_code = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")
    write_csv(tmp_path / "consumers.csv", "consumer_id,name,kind,credit_code,registered_at", [
        "C1,张三,person,,2025-01-02 10:00:00",
        f"C2,上海浦江数据科技有限公司,company,{GOOD_CODE},2025-01-02T10:00:00+08:00",
        f"C3,上海某某信息有限公司,company,{bad_code},2025-03-01",
        "C4,某协会,organisation,,2025-03-01",
        f"C5,上海数据交易研究会,organisation,{ORG_CODE},not a date",
    ])
    results = load_reference_dir(client, tmp_path)
    consumers = results["consumers"]
    assert (consumers.loaded, consumers.rejected) == (2, 3)
    stored = client.query("SELECT consumer_id, credit_code FROM consumers FINAL ORDER BY consumer_id")
    assert stored.result_rows == [("C1", ""), ("C2", GOOD_CODE)]
    reasons = dict(client.query("SELECT line_no, reason FROM rejected_rows FINAL").result_rows)
    assert reasons == {
        4: f'credit_code "{bad_code}" fails the GB 32100 check character',
        5: "credit_code is missing (required for organisations)",
        6: 'registered_at "not a date" is not a date and time (YYYY-MM-DD HH:MM:SS)',
    }


def test_agreements_json_arrays_dates_and_upsert_by_id(client, tmp_path):
    first = {"agreement_id": "A1", "application_id": "P1", "consumer_id": "C2", "dataset_id": "DS1",
             "scenarios": ["traffic_planning"], "allowed_fields": ["name", "address"],
             "ip_allowlist": ["10.0.0.0/8", "203.0.113.7"], "daily_call_quota": 1000,
             "daily_row_quota": 100000, "valid_from": "2025-01-01", "valid_to": "2026-12-31",
             "signed_at": "2024-12-28 16:00:00"}
    bad = [
        {**first, "agreement_id": "A2", "scenarios": "traffic_planning"},
        {**first, "agreement_id": "A3", "ip_allowlist": ["10.0.0.0/33"]},
        {**first, "agreement_id": "A4", "daily_call_quota": -5},
        {**first, "agreement_id": "A5", "valid_to": "2024-06-30"},
    ]
    lines = [json.dumps(row, ensure_ascii=False) for row in [first, *bad]] + ['{"agreement_id": "A6",']
    (tmp_path / "agreements.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_reference_dir(client, tmp_path)["agreements"]
    assert (result.loaded, result.rejected) == (1, 5)
    reasons = [r[0] for r in client.query(REASONS).result_rows]
    assert reasons == [
        "scenarios is not a JSON array",
        'ip_allowlist entry "10.0.0.0/33" is not an IP address or CIDR network',
        "daily_call_quota -5 is negative",
        "valid_to 2024-06-30 is before valid_from 2025-01-01",
        "truncated or malformed JSON",
    ]
    stored = client.query("SELECT scenarios, ip_allowlist, report_every_days FROM agreements FINAL")
    assert stored.result_rows == [(["traffic_planning"], ["10.0.0.0/8", "203.0.113.7"], 90)]

    # Loading a corrected file again replaces the row with the same id.
    changed = {**first, "daily_call_quota": 5000}
    (tmp_path / "agreements.jsonl").write_text(json.dumps(changed) + "\n", encoding="utf-8")
    load_reference_dir(client, tmp_path)
    quota = client.query("SELECT agreement_id, daily_call_quota FROM agreements FINAL").result_rows
    assert quota == [("A1", 5000)]


def test_datasets_field_lists_and_value_sets(client, tmp_path):
    fields = json.dumps([{"name": "name", "type": "string", "description": "企业名称"}], ensure_ascii=False)
    header = ("dataset_id,agency_id,name,description,domain,open_class,format,fields,conditions,"
              "update_frequency,published_at,last_updated,status,has_sample,row_count")
    quoted = '"' + fields.replace('"', '""') + '"'
    write_csv(tmp_path / "datasets.csv", header, [
        f"DS1,sh-samr,市场主体登记信息,说明,信用服务,conditional,api,{quoted},,daily,2024-03-01,"
        "2026-11-20 08:00:00,open,1,120000",
        f"DS2,sh-samr,名录,说明,信用服务,secret,api,{quoted},,daily,2024-03-01,2026-11-20 08:00:00,,0,1",
        'DS3,sh-samr,名录,说明,信用服务,unconditional,csv,"[""name""]",,daily,2024-03-01,2026-11-20,,,',
    ])
    result = load_reference_dir(client, tmp_path)["datasets"]
    assert (result.loaded, result.rejected) == (1, 2)
    stored = client.query("SELECT dataset_id, fields, status, version FROM datasets FINAL").result_rows
    assert stored == [("DS1", fields, "open", 1)]
    reasons = [r[0] for r in client.query(REASONS).result_rows]
    assert reasons == ['open_class "secret" is not one of unconditional, conditional, closed',
                       "fields item 1 must be an object with a name"]


def test_a_folder_without_reference_files_is_a_plain_sentence(client, tmp_path):
    with pytest.raises(UserError, match="No reference files"):
        load_reference_dir(client, tmp_path)
