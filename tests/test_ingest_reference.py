"""Reference data: validated like the access log, upserted by id, bad rows quarantined with reasons."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

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
        'daily_call_quota "-5" is negative',
        'valid_to "2024-06-30" is before valid_from "2025-01-01"',
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
                       'fields item "1" must be an object with a name']


def test_a_folder_without_reference_files_is_a_plain_sentence(client, tmp_path):
    with pytest.raises(UserError, match="No reference files"):
        load_reference_dir(client, tmp_path)


# --- a platform's own exports -------------------------------------------------------------------

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
STORED_REASONS = "SELECT reason, count() FROM rejected_rows FINAL GROUP BY reason ORDER BY reason"


def test_a_portal_export_with_chinese_headers_and_values_loads_without_a_mapping(client):
    results = load_reference_dir(client, EXPORTS / "portal")     # UTF-8 with a BOM, agencies by name
    datasets, agencies = results["datasets"], results["agencies"]
    assert (agencies.loaded, agencies.rejected) == (6, 0)
    assert (datasets.loaded, datasets.rejected) == (298, 2) and datasets.loaded / 300 >= 0.99
    assert datasets.reasons == {"open_class is not one of unconditional, conditional, closed": 1,
                                "dataset_id is missing": 1}
    assert dict(client.query(STORED_REASONS).result_rows) == {
        'open_class "部分开放" is not one of unconditional, conditional, closed': 1,
        "dataset_id is missing": 1}
    assert datasets.corrected == {"agency_id was an agency's name: its id used": 298}
    assert datasets.defaulted == {"version": 298}
    stored = client.query("""
        SELECT dataset_id, agency_id, open_class, format, update_frequency, published_at, status, has_sample,
               fields, formatDateTime(last_updated, '%F %T', 'Asia/Shanghai')
        FROM datasets FINAL WHERE dataset_id IN ('SH-A-00002', 'SH-A-00008') ORDER BY dataset_id
    """).result_rows
    assert stored == [
        ("SH-A-00002", "sh-jtw", "conditional", "csv", "daily", date(2020, 2, 2), "open", 0,
         '[{"name": "企业名称"}, {"name": "统一社会信用代码"}, {"name": "注册地址"}]', "2026-11-02 08:01:00"),
        ("SH-A-00008", "sh-jtw", "closed", "xlsx", "static", date(2020, 8, 8), "suspended", 0,
         '[{"name": "企业名称"}, {"name": "统一社会信用代码"}, {"name": "注册地址"}, {"name": "经营范围"}, '
         '{"name": "登记机关"}]', "2026-11-08 08:07:00"),
    ]
    kinds = dict(client.query("SELECT agency_id, kind FROM agencies FINAL").result_rows)
    assert kinds["sh-samr"] == "city_bureau" and kinds["sh-xuhui"] == "district"


def test_a_national_style_gbk_export_loads_without_a_mapping(client):
    results = load_reference_dir(client, EXPORTS / "national")   # GBK, full-width and "(必填)" headers
    (report,) = results["datasets"].files
    assert report.encoding == "gb18030" and report.found_by == "columns"
    assert [p.source for p in report.columns if not p.how] == ["联系人", "备注"]   # placed nowhere, ignored
    assert (report.loaded, report.rejected) == (298, 2)
    assert report.reasons == {"published_at is not a date (YYYY-MM-DD)": 1, "agency_id is missing": 1}
    stored = client.query("""
        SELECT dataset_id, name, agency_id, open_class, format, update_frequency, published_at
        FROM datasets FINAL WHERE dataset_id = '3100000005/0001'
    """).result_rows
    assert stored == [("3100000005/0001", "医疗机构名录目录5", "sh-wsjkw", "conditional", "api", "static",
                       date(2022, 5, 5))]
    frequencies = dict(client.query("SELECT update_frequency, count() FROM datasets FINAL GROUP BY ALL")
                       .result_rows)
    assert set(frequencies) == {"monthly", "yearly", "daily", "realtime", "static", "irregular", "quarterly"}


def test_an_english_export_loads_fully_with_an_edited_mapping_init_output(client, tmp_path):
    from ingest.mapping import parse_mapping
    from ingest.survey import starting_mapping_for

    written = starting_mapping_for(EXPORTS / "english")
    assert '[datasets]\nfiles = ["catalog_export.csv"]' in written
    assert '"Dataset No." = ""   # not placed; closest: dataset_id' in written
    edited = (written
              .replace('"Dataset No." = ""', '"Dataset No." = "dataset_id"')
              .replace('"Heading" = ""', '"Heading" = "name"')
              .replace('"Who may use it" = ""', '"Who may use it" = "open_class"')
              .replace('"Refresh" = ""', '"Refresh" = "update_frequency"')
              .replace('"Went live" = ""', '"Went live" = "published_at"')
              .replace('"Last change" = ""', '"Last change" = "last_updated"')
              .replace('"Summary" = ""', '"Summary" = "description"')
              .replace('"Topic" = ""', '"Topic" = "domain"')
              .replace('"Kind of file" = ""', '"Kind of file" = "format"')
              + '\n[datasets.values.open_class]\npublic = "unconditional"\n"on request" = "conditional"\n'
                '"not open" = "closed"\n'
              + '[datasets.values.update_frequency]\n"every day" = "daily"\n"every month" = "monthly"\n'
                'never = "static"\n'
              + '[datasets.values.format]\n"web service" = "api"\nspreadsheet = "xlsx"\n'
                '"text table" = "csv"\n')
    (tmp_path / "mapping.toml").write_text(edited, encoding="utf-8")
    mapping = parse_mapping(edited, "mapping.toml")
    datasets = load_reference_dir(client, EXPORTS / "english", mapping=mapping)["datasets"]
    assert (datasets.loaded, datasets.rejected) == (24, 0)
    (report,) = datasets.files
    assert report.found_by == "mapping file" and report.unmapped_values == {}
    stored = client.query("SELECT open_class, update_frequency, format, count() FROM datasets FINAL "
                          "GROUP BY ALL ORDER BY ALL").result_rows
    assert stored == [("closed", "static", "csv", 8), ("conditional", "monthly", "xlsx", 8),
                      ("unconditional", "daily", "api", 8)]


def test_a_mapping_file_with_a_bad_default_loads_nothing(client, tmp_path):
    from ingest.mapping import parse_mapping

    text = '[agencies.defaults]\nname_en = "x"\n[datasets.defaults]\nrow_count = -4\n'
    mapping = parse_mapping(text, "m.toml")
    with pytest.raises(UserError, match='m.toml: datasets.defaults: row_count: row_count "-4" is negative'):
        load_reference_dir(client, EXPORTS / "portal", mapping=mapping)
    loaded = client.query("SELECT (SELECT count() FROM agencies), (SELECT count() FROM datasets)")
    assert loaded.result_rows == [(0, 0)]


def test_a_dry_run_reads_and_checks_everything_and_loads_nothing(client):
    results = load_reference_dir(client, EXPORTS / "portal", dry_run=True)
    assert (results["datasets"].loaded, results["datasets"].rejected) == (298, 2)
    assert results["datasets"].files[0].unmapped_values == {"open_class": {"部分开放": 1}}
    counts = client.query("SELECT (SELECT count() FROM datasets), (SELECT count() FROM rejected_rows)")
    assert counts.result_rows == [(0, 0)]


# --- only what the product needs -------------------------------------------------------------------


def test_only_what_the_product_needs_is_required_and_every_default_is_counted(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["sh-jtw"])
    write_csv(tmp_path / "datasets.csv", "dataset_id,agency_id,open_class,update_frequency", [
        "DS1,sh-jtw,unconditional,static", "DS2,sh-jtw,conditional,", "DS3,,closed,daily",
        "DS4,sh-jtw,,daily"])
    write_csv(tmp_path / "consumers.csv", "consumer_id,credit_code",
              ["C1,", f"C2,{GOOD_CODE}", f"C3,{ORG_CODE}"])
    write_csv(tmp_path / "agreements.csv", "agreement_id,consumer_id,dataset_id,valid_from,valid_to",
              ["A1,C2,DS2,2025-01-01,2025-12-31", "A2,C2,DS2,,2025-12-31"])
    results = load_reference_dir(client, tmp_path)
    assert (results["datasets"].loaded, results["datasets"].rejected) == (2, 2)
    assert results["datasets"].reasons == {"agency_id is missing": 1, "open_class is missing": 1}
    assert results["datasets"].defaulted == {"version": 2, "name": 2, "format": 2, "update_frequency": 1,
                                             "published_at": 2, "last_updated": 2, "status": 2,
                                             "has_sample": 2, "row_count": 2}
    assert results["agreements"].reasons == {"valid_from is missing": 1}
    assert results["agencies"].defaulted == {"name": 1, "kind": 1}
    catalog = client.query("SELECT dataset_id, name, format, update_frequency, published_at, status "
                           "FROM datasets FINAL ORDER BY dataset_id").result_rows
    assert catalog == [("DS1", "DS1", "other", "static", date(1970, 1, 1), "open"),
                       ("DS2", "DS2", "other", "irregular", date(1970, 1, 1), "open")]
    kinds = client.query("SELECT consumer_id, name, kind FROM consumers FINAL ORDER BY consumer_id")
    assert kinds.result_rows == [("C1", "C1", "person"), ("C2", "C2", "company"),
                                 ("C3", "C3", "organisation")]
    signed = client.query("SELECT formatDateTime(signed_at, '%F %T', 'Asia/Shanghai'), daily_call_quota "
                          "FROM agreements FINAL").result_rows
    assert signed == [("2025-01-01 00:00:00", 0)]


def test_a_format_cell_listing_several_takes_the_most_open_and_half_yearly_is_a_frequency(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["sh-jtw"])
    write_csv(tmp_path / "datasets.csv", "数据集编号,数据提供单位,开放属性,数据格式,更新频率", [
        'DS1,sh-jtw,无条件开放,"xls,csv,json",每半年', "DS2,sh-jtw,无条件开放,PDF、XLSX,半年",
        "DS3,sh-jtw,无条件开放,接口/xls,每季度", "DS4,sh-jtw,无条件开放,rdf;shp,每年"])
    datasets = load_reference_dir(client, tmp_path)["datasets"]
    assert (datasets.loaded, datasets.rejected) == (4, 0), datasets.reasons
    assert datasets.files[0].unmapped_values == {"format": {"rdf;shp": 1}}   # nothing known: reported
    catalog = client.query("SELECT dataset_id, format, update_frequency FROM datasets FINAL "
                           "ORDER BY dataset_id").result_rows
    assert catalog == [("DS1", "csv", "semiannual"), ("DS2", "xlsx", "semiannual"),
                       ("DS3", "api", "quarterly"), ("DS4", "other", "yearly")]


def test_a_title_line_above_the_header_is_reported_and_the_rows_below_load(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["sh-jtw"])
    (tmp_path / "目录.csv").write_text(
        "上海市公共数据开放目录（2026年11月）,,,\n数据集编号,数据提供单位,开放属性,数据集名称\n"
        'DS1,sh-jtw,无条件开放,公交线路\nDS2,sh-jtw,有条件开放,"企业名录\n（含地址）"\n', encoding="utf-8")
    datasets = load_reference_dir(client, tmp_path)["datasets"]
    assert (datasets.loaded, datasets.rejected) == (2, 1)
    assert datasets.reasons == {"a title line above the header, not a row": 1}
    names = client.query("SELECT name FROM datasets FINAL ORDER BY dataset_id").result_rows
    assert names == [("公交线路",), ("企业名录\n（含地址）",)]     # a quoted cell over two lines: one row


def test_the_summary_counts_reasons_without_their_values_but_keeps_the_rules_numbers(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["sh-jtw"])
    write_csv(tmp_path / "datasets.csv", "dataset_id,agency_id,open_class,published_at", [
        "DS1,sh-jtw,unconditional,1900-01-01", "DS2,sh-jtw,unconditional,1969-12-31", "DS3,sh-jtw",
        "DS4,sh-jtw,unconditional,2026-01-01"])
    datasets = load_reference_dir(client, tmp_path)["datasets"]
    assert datasets.reasons == {"published_at is outside the years 1970–2148": 2,
                                "row has a different number of cells than the header (4)": 1}
    stored = [r[0] for r in client.query(REASONS).result_rows]
    assert stored[2] == 'row has a different number of cells than the header (4): "2"'


def test_open_class_words_under_a_conditions_header_are_the_open_class(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["bj-jxj"])
    write_csv(tmp_path / "datasets.csv", "数据集编号,数据提供单位,开放条件", [
        "DS1,bj-jxj,无条件开放", "DS2,bj-jxj,不予开放", "DS3,bj-jxj,需签署数据使用协议"])
    datasets = load_reference_dir(client, tmp_path)["datasets"]
    assert (datasets.loaded, datasets.rejected) == (2, 1) and datasets.reasons == {"open_class is missing": 1}
    assert datasets.corrected == {"open_class read from the conditions column (an open-class word)": 2}
    rows = client.query("SELECT dataset_id, open_class, conditions FROM datasets FINAL ORDER BY dataset_id")
    assert rows.result_rows == [("DS1", "unconditional", ""), ("DS2", "closed", "")]


def test_an_id_given_twice_in_one_file_loads_the_later_row_and_accounts_for_the_earlier(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id", ["sh-jtw"])
    write_csv(tmp_path / "datasets.csv", "dataset_id,agency_id,open_class,name", [
        "DS1,sh-jtw,unconditional,公交线路", "DS2,sh-jtw,unconditional,地铁站点",
        "DS1,sh-jtw,conditional,公交线路（新）"])
    datasets = load_reference_dir(client, tmp_path)["datasets"]
    assert (datasets.loaded, datasets.rejected) == (2, 1)
    assert datasets.reasons == {"dataset_id is given again later in this file: the later row is loaded": 1}
    stored = client.query("SELECT dataset_id, name, open_class FROM datasets FINAL ORDER BY dataset_id")
    assert stored.result_rows == [("DS1", "公交线路（新）", "conditional"),
                                  ("DS2", "地铁站点", "unconditional")]
    assert client.query("SELECT line_no FROM rejected_rows FINAL").result_rows == [(2,)]


# --- held to the catalog -------------------------------------------------------------------------------

def test_references_the_catalog_does_not_hold_are_kept_and_counted(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id,name", ["sh-jtw,上海市交通委员会"])
    write_csv(tmp_path / "datasets.csv", "dataset_id,agency_id,open_class",
              ["DS1,上海市交通委员会,conditional", "DS2,杭州市卫生健康委员会,conditional"])
    write_csv(tmp_path / "consumers.csv", "consumer_id", ["C1"])
    write_csv(tmp_path / "agreements.csv", "agreement_id,consumer_id,dataset_id,valid_from,valid_to",
              ["A1,C1,DS1,2026-01-01,2026-12-31", "A2,C9,DS9,2026-01-01,2026-12-31"])
    results = load_reference_dir(client, tmp_path)
    assert results["datasets"].loaded == 2 and results["datasets"].corrected == {
        "agency_id was an agency's name: its id used": 1}
    assert results["datasets"].unmatched == {"agency_id not in the catalog (row kept)": 1}
    assert results["agreements"].loaded == 2
    assert results["agreements"].unmatched == {"consumer_id not in the catalog (row kept)": 1,
                                               "dataset_id not in the catalog (row kept)": 1}



def test_an_agency_id_that_is_not_the_datasets_owner_is_corrected_to_the_owner(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id,name", ["sh-a,上海市甲局", "sh-b,上海市乙局"])
    write_csv(tmp_path / "datasets.csv", "dataset_id,agency_id,open_class", ["X,sh-a,conditional"])
    write_csv(tmp_path / "complaints.csv", "complaint_id,dataset_id,agency_id,received_at", [
        "K1,X,sh-b,2026-03-01 10:00:00", "K2,X,,2026-03-02 10:00:00", "K3,X,上海市甲局,2026-03-03 10:00:00",
        "K4,UNKNOWN,sh-b,2026-03-04 10:00:00"])
    write_csv(tmp_path / "applications.csv", "application_id,consumer_id,dataset_id,agency_id,submitted_at",
              ["P1,C1,X,sh-b,2026-03-01 10:00:00"])
    results = load_reference_dir(client, tmp_path)
    assert results["complaints"].corrected == {"agency_id was not the dataset's owner: the owner used": 1,
                                               "agency_id was an agency's name: its id used": 1}
    assert results["complaints"].defaulted["agency_id"] == 1
    assert results["applications"].corrected == {"agency_id was not the dataset's owner: the owner used": 1}
    owners = dict(client.query("SELECT complaint_id, agency_id FROM complaints FINAL").result_rows)
    assert owners == {"K1": "sh-a", "K2": "sh-a", "K3": "sh-a", "K4": "sh-b"}    # K4: no owner known
    seen_by_b = client.query("""
        SELECT count() FROM (SELECT dataset_id FROM complaints FINAL WHERE agency_id = 'sh-b'
                             UNION ALL SELECT dataset_id FROM applications FINAL WHERE agency_id = 'sh-b')
        WHERE dataset_id = 'X'
    """).result_rows
    assert seen_by_b == [(0,)]


# --- bad values reject their row, never their file -----------------------------------------------------


def test_hostile_values_reject_their_row_and_the_rest_of_the_file_loads(client, tmp_path):
    good = {"agreement_id": "A1", "consumer_id": "C1", "dataset_id": "D1", "valid_from": "2025-01-01",
            "valid_to": "2025-12-31"}
    deep = "[" * 100_000 + "]" * 100_000
    lines = [json.dumps(good),
             json.dumps({**good, "agreement_id": "A2", "daily_call_quota": float("nan")}),
             json.dumps({**good, "agreement_id": "A3", "daily_row_quota": 1e20}),
             json.dumps({**good, "agreement_id": "A4", "valid_from": "0001-01-01"}),
             json.dumps({**good, "agreement_id": "A5", "signed_at": float("nan")}),
             '{"agreement_id": "A6", "scenarios": ' + deep + "}",
             json.dumps({**good, "agreement_id": "A7", "scenarios": "[" + deep + "]"}),
             json.dumps({**good, "agreement_id": "A8", "report_every_days": 70_000}),
             json.dumps({**good, "agreement_id": "A9"})]
    (tmp_path / "agreements.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_reference_dir(client, tmp_path)["agreements"]
    assert (result.loaded, result.rejected) == (2, 7)
    reasons = [r[0] for r in client.query(REASONS).result_rows]
    assert reasons == ['daily_call_quota "nan" is not a whole number',
                       'daily_row_quota "100000000000000000000" is larger than 18446744073709551615',
                       'valid_from "0001-01-01" is outside the years 1970–2148',
                       'signed_at "nan" is not epoch milliseconds between 2000 and 2105',
                       "the line is nested too deeply",
                       "scenarios is nested too deeply",
                       'report_every_days "70000" is larger than 65535']


def test_a_csv_with_a_huge_cell_and_an_unclosed_quote_loses_only_those_rows(client, tmp_path):
    rows = ["C1,张三,person", 'C2,"unclosed,person'] + [f"C{n},用户{n},person" for n in range(3, 1003)]
    rows.insert(1, "C1b," + "x" * 200_000 + ",person")           # over the csv module's field limit
    write_csv(tmp_path / "consumers.csv", "consumer_id,name,kind", rows)
    result = load_reference_dir(client, tmp_path)["consumers"]
    assert (result.loaded, result.rejected) == (1002, 1)
    assert client.query(REASONS).result_rows == [
        ("unclosed quote: a quoted cell starts on this line and does not end",)]
    long_name = client.query("SELECT length(name) FROM consumers FINAL WHERE consumer_id = 'C1b'")
    assert long_name.result_rows == [(200_000,)]


def test_rejected_rows_are_stored_up_to_the_cap_per_reason_and_counted_past_it(client, tmp_path):
    write_csv(tmp_path / "agencies.csv", "agency_id,kind", [f"A{n},galaxy" for n in range(10)] + [",other"])
    result = load_reference_dir(client, tmp_path, stored_per_reason=3)["agencies"]
    assert result.rejected == 11
    assert result.reasons == {"kind is not one of city_bureau, district, other": 10,
                              "agency_id is missing": 1}
    stored = client.query("SELECT line_no FROM rejected_rows FINAL ORDER BY line_no").result_rows
    assert stored == [(2,), (3,), (4,), (12,)]
