"""Profiling a published file (reports/profiling.py): CSV in UTF-8 or GBK, XLSX, JSON and Parquet read
and checked alike, unreadable or unsupported files a plain sentence, credit codes checked vectorised as
the scalar check does, date-time cells in their layouts with impossible clocks caught."""

from __future__ import annotations

import random

import polars as pl
import pytest
from quality_files import BAD_CODE, FIELDS, GOOD_CODE, clean_rows, write_csv

from odwatch import codes
from odwatch.errors import UserError
from reports.profiling import credit_code_status, profile_file
from reports.quality import DEFAULT_WEIGHTS, score_content


def test_gbk_csv_is_read_and_checked_like_utf8(tmp_path):
    rows = clean_rows(5)
    rows[0] = f"1,上海市某某科技有限公司,{BAD_CODE},2024-01-02,10.5"
    gbk = profile_file(write_csv(tmp_path / "gbk.csv", rows, encoding="gbk"), FIELDS)
    utf8 = profile_file(write_csv(tmp_path / "utf8.csv", rows), FIELDS)
    assert gbk.encoding == "gb18030" and utf8.encoding == "utf-8"
    assert gbk.rows == utf8.rows == 5
    [finding] = next(f for f in gbk.fields if f.name == "credit_code").findings
    assert finding.rule == "checksum"
    assert score_content(DEFAULT_WEIGHTS, gbk)["validity"][0] == pytest.approx(
        score_content(DEFAULT_WEIGHTS, utf8)["validity"][0])


def test_xlsx_json_and_parquet_are_profiled(tmp_path):
    frame = pl.DataFrame({
        "id": [1, 2, 2], "company": ["甲", None, None],
        "credit_code": [GOOD_CODE, BAD_CODE, BAD_CODE],
        "reg_date": ["2024-01-01", "2024-13-01", "2024-13-01"],
        "amount": [1.5, 2.0, 2.0],
    })
    frame.write_excel(tmp_path / "d.xlsx")
    frame.write_ndjson(tmp_path / "d.jsonl")
    frame.write_json(tmp_path / "d.json")
    frame.write_parquet(tmp_path / "d.parquet")
    for name in ("d.xlsx", "d.jsonl", "d.json", "d.parquet"):
        profile = profile_file(tmp_path / name, FIELDS)
        fields = {f.name: f for f in profile.fields}
        assert profile.rows == 3, name
        assert fields["company"].nulls == 2, name
        assert [(f.rule, f.count) for f in fields["credit_code"].findings] == [("checksum", 2)], name
        assert [(f.rule, f.count) for f in fields["reg_date"].findings] == [("impossible_date", 2)], name
        assert (profile.duplicate_rows, profile.duplicate_keys) == (1, 1), name


def test_unreadable_and_unsupported_files_give_a_plain_message(tmp_path):
    with pytest.raises(UserError, match="No such file"):
        profile_file(tmp_path / "absent.csv")
    (tmp_path / "x.sav").write_bytes(b"\x00\x01")
    with pytest.raises(UserError, match="unsupported file type"):
        profile_file(tmp_path / "x.sav")
    (tmp_path / "bin.csv").write_bytes(bytes(range(128, 256)) * 10)
    with pytest.raises(UserError, match="neither UTF-8 nor GBK"):
        profile_file(tmp_path / "bin.csv")


def test_vectorised_credit_check_agrees_with_the_scalar_one():
    rng = random.Random(3)
    alphabet = codes.ALPHABET
    samples = ["甲乙丙丁戊己", "", "ZZ", "91A10000MA1FL4XQ39"]
    for _ in range(300):
        body = ("".join(rng.choice(alphabet) for _ in range(2))
                + "".join(rng.choice("0123456789") for _ in range(6))
                + "".join(rng.choice(alphabet) for _ in range(9)))
        good = body + codes.check_char(body)
        samples += [good, good[:-1] + rng.choice(alphabet), good[:5], good + "X", good.lower(),
                    "９" + good[1:], good[:3] + "A" + good[4:]]
    status = credit_code_status(pl.Series(samples)).to_list()
    expected = [0 if codes.is_valid(c) else 2 if codes.SHAPE.fullmatch(c) else 1 for c in samples]
    assert status == expected
    assert status.count(2) > 200 and status.count(0) > 250


def test_datetime_fields_accept_layouts_and_catch_impossible_clocks(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("id,at\n1,2024-01-01 10:00:00\n2,2024/01/02 08:30\n3,2024-01-03T09:00:00+08:00\n"
                    "4,2024-02-30 10:00:00\n5,2024-01-01 25:00\n6,明天上午\n7,2024-01-05\n"
                    "8, 2024-01-06 10:00:00\n9,\t2024-01-07\n")
    profile = profile_file(path, [{"name": "id", "type": "integer"}, {"name": "at", "type": "datetime"}])
    at = next(f for f in profile.fields if f.name == "at")
    found = {(f.rule, f.count) for f in at.findings}
    assert found == {("impossible_date", 2), ("format", 3)}          # padded cells are format errors
    assert at.date_layouts == {"yyyy-mm-dd": 3, "yyyy/mm/dd": 1}     # real dates only
