"""Small files and catalogs for the quality and profiling tests: a company register as CSV with the
fields its catalog entry declares (clean, or with the flaws a test writes into it), and a catalog of two
agencies and three datasets for the scan."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from odwatch.clock import SHANGHAI

GOOD_CODE = "91440300708461136T"
BAD_CODE = GOOD_CODE[:-1] + "U"
FIELDS = [
    {"name": "id", "type": "integer", "description": "记录编号", "key": True},
    {"name": "company", "type": "string", "description": "企业名称"},
    {"name": "credit_code", "type": "credit_code", "description": "统一社会信用代码"},
    {"name": "reg_date", "type": "date", "description": "登记日期"},
    {"name": "amount", "type": "number", "description": "金额（元）"},
]


def write_csv(path, rows, header="id,company,credit_code,reg_date,amount", encoding="utf-8"):
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def clean_rows(n=10):
    return [f"{i},企业{i},{GOOD_CODE},2024-01-{i + 1:02d},{i * 10}.5" for i in range(1, n + 1)]


# The catalog the scan reads, as of SCAN_AT.
SCAN_AT = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
CATALOG_FIELDS = json.dumps([
    {"name": "id", "type": "integer", "description": "编号"},
    {"name": "company", "type": "string", "description": "企业名称"},
    {"name": "credit_code", "type": "credit_code", "description": "统一社会信用代码"},
], ensure_ascii=False)
DESCRIPTION = "本数据集包含本市登记企业的名称与统一社会信用代码，按月更新，供社会公众查询使用。"


def load_catalog(client):
    client.insert("agencies", [["A1", "市市场监管局", "SAMR", "city_bureau"],
                               ["A2", "市交通委", "Transport", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    columns = ["dataset_id", "agency_id", "name", "description", "domain", "open_class", "format", "fields",
               "update_frequency", "published_at", "last_updated", "row_count"]
    client.insert("datasets", [
        ["D1", "A1", "企业登记信息", DESCRIPTION, "经济", "unconditional", "csv", CATALOG_FIELDS, "monthly",
         date(2024, 1, 1), SCAN_AT - timedelta(days=10), 3],
        ["D2", "A1", "企业年报信息", DESCRIPTION, "经济", "conditional", "pdf", CATALOG_FIELDS, "monthly",
         date(2024, 1, 1), SCAN_AT - timedelta(days=200), 3],
        ["D3", "A2", "公交线路", DESCRIPTION, "交通", "unconditional", "json", CATALOG_FIELDS, "daily",
         date(2024, 1, 1), SCAN_AT - timedelta(hours=5), 3],
    ], column_names=columns)


def write_file(path, bad=False):
    rows = [f"1,甲公司,{GOOD_CODE}", f"2,乙公司,{BAD_CODE if bad else GOOD_CODE}", f"3,丙公司,{GOOD_CODE}"]
    path.write_text("id,company,credit_code\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path
