"""The gateway's enforcement list (reports/export/enforcement.py): the restricted and closed keys with
their periods, as JSON and CSV, written and read back; a natural person's name masked, as everywhere a
list leaves the console."""

from __future__ import annotations

import csv
import json

from violation_records import add_violation_records

from detectors.violations import mask_person_name
from reports.export.enforcement import write_enforcement_list


def test_enforcement_list_json_and_csv_for_the_gateway(client, tmp_path):
    add_violation_records(client)
    payload = json.loads(write_enforcement_list(client, "json", tmp_path / "keys.json").read_text())
    keys = {row["key_id"]: row for row in payload["keys"]}
    assert set(keys) == {"k1", "k3"}
    assert keys["k1"]["starts_at"] == "2026-03-02T00:00:00+08:00" and keys["k3"]["ends_at"] is None
    with open(write_enforcement_list(client, "csv", tmp_path / "keys.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["key_id"], r["status"]) for r in rows] == [("k1", "restricted"), ("k3", "closed")]


def test_a_natural_persons_name_is_masked_a_companys_kept(client, tmp_path):
    add_violation_records(client)  # k1: 上海某某科技有限公司 (a company), k3: 欧阳小明 (a natural person)
    payload = json.loads(write_enforcement_list(client, "json", tmp_path / "keys.json").read_text())
    names = {row["key_id"]: row["consumer_name"] for row in payload["keys"]}
    assert names == {"k1": "上海某某科技有限公司", "k3": mask_person_name("欧阳小明")}
    csv_text = write_enforcement_list(client, "csv", tmp_path / "keys.csv").read_text(encoding="utf-8")
    assert "欧阳小明" not in csv_text and "欧***" in csv_text
