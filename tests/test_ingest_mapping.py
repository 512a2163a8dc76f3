"""Column and value mapping: how a header or a value is normalised, placed and mapped, the built-in
aliases, and mapping files (an error names its line and key)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.contract import REFERENCE_TABLES, TABLES, columns_of
from ingest.mapping import (
    FileReport,
    LogMapper,
    builtin_aliases,
    enumerated,
    guess_table,
    normalise,
    parse_mapping,
    plan_columns,
    vocabulary,
)
from odwatch.errors import UserError

# Characters real headers are made of: Latin, digits, separators, CJK, the notes and markers.
HEADER_TEXT = st.text(alphabet=st.sampled_from(list("abcdeXYZ0129 _-.数据集名称开放属性更新频率()*$:")),
                      max_size=24)


def full_width(text: str) -> str:
    """The same text as a Chinese input method may type it: full-width letters, digits, punctuation."""
    return "".join("\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch
                   for ch in text)


def disguised(text: str, case: str, padding: str, bom: bool, wide: bool) -> str:
    """`text` as an export might write it: another case, padded, full-width, behind a BOM."""
    text = {"upper": text.upper(), "lower": text.lower(), "same": text}[case]
    text = full_width(text) if wide else text
    return ("\ufeff" if bom else "") + padding + text + padding


DISGUISES = dict(case=st.sampled_from(["upper", "lower", "same"]),
                 padding=st.sampled_from(["", " ", "\t ", "\u3000"]), bom=st.booleans(), wide=st.booleans())


@given(text=st.text(max_size=40))
def test_normalising_twice_changes_nothing(text):
    assert normalise(normalise(text)) == normalise(text)


@given(text=HEADER_TEXT, **DISGUISES)
def test_case_whitespace_full_width_and_a_bom_do_not_count(text, case, padding, bom, wide):
    assert normalise(disguised(text, case, padding, bom, wide)) == normalise(text)


def test_what_counts_in_a_header():
    assert normalise("数据集 名称（必填）") == normalise("*数据集名称") == normalise("数据集名称")
    assert normalise("Event ID") == normalise("event_id") == normalise("$event-id")
    # a unit is meaning, not a note
    assert normalise("耗时(秒)") != normalise("耗时(毫秒)") != normalise("耗时")
    assert normalise("ＡＰＩ接口") == "api接口"


NAMES = [(table, name, column) for table in TABLES
         for column, names in builtin_aliases()[table]["columns"].items() for name in names]
NAMES += [(table, column, column) for table in REFERENCE_TABLES for column in columns_of(table)]


@given(entry=st.sampled_from(NAMES), **DISGUISES)
def test_every_alias_and_contract_name_places_its_column_however_written(entry, case, padding, bom,
                                                                         wide):
    table, name, column = entry
    assert vocabulary(table).place(disguised(name, case, padding, bom, wide))[0] == column


WORDS = [(table, column, str(value), str(word)) for table in TABLES
         for column, values in builtin_aliases()[table].get("values", {}).items()
         for value, words in values.items() for word in words]
WORDS += [(table, column, value, value) for table in TABLES for column in columns_of(table)
          for value in enumerated(table, column)]


@given(entry=st.sampled_from(WORDS), **DISGUISES)
def test_every_value_and_alias_maps_to_its_contract_value_however_written(entry, case, padding, bom,
                                                                          wide):
    table, column, value, word = entry
    assert vocabulary(table).map_value(column, disguised(word, case, padding, bom, wide)) == (value, True)


@given(entry=st.sampled_from(WORDS), word=st.text(min_size=1, max_size=12))
def test_a_value_with_no_match_comes_back_unchanged_and_flagged(entry, word):
    table, column, _, _ = entry
    vocab = vocabulary(table)
    known = set(vocab.values[column])
    if normalise(word) in known or not word.strip():
        return
    assert vocab.map_value(column, word) == (word, False)


def test_a_mapping_file_wins_over_the_aliases_for_values_and_columns():
    mapping = parse_mapping('[datasets.columns]\n"状态" = "domain"\n'
                            '[datasets.values.open_class]\n"公开" = "closed"\n')
    vocab = vocabulary("datasets", mapping.table("datasets"))
    assert vocab.place("状态") == ("domain", "mapping")
    assert vocab.map_value("open_class", "公开") == ("closed", True)
    assert vocabulary("datasets").map_value("open_class", "公开") == ("unconditional", True)


def test_the_aliases_never_give_one_name_two_meanings():
    for table, body in builtin_aliases().items():
        assert table in TABLES
        names: dict[str, str] = {normalise(c): c for c in columns_of(table)}
        for column, aliases in body["columns"].items():
            for alias in aliases:
                assert names.setdefault(normalise(alias), column) == column, (table, alias)
        for column, values in body.get("values", {}).items():
            assert enumerated(table, column), (table, column)
            words: dict[str, str] = {normalise(v): v for v in enumerated(table, column)}
            for value, aliases in values.items():
                assert str(value) in enumerated(table, column), (table, column, value)
                for alias in aliases:
                    assert words.setdefault(normalise(alias), str(value)) == str(value), (table, alias)


def test_a_header_is_planned_column_by_column_and_the_better_found_wins():
    mapping = parse_mapping('[datasets.columns]\n"Title" = "name"\n"Notes" = ""\n')
    vocab = vocabulary("datasets", mapping.table("datasets"))
    header = ["数据集名称", "Title", "dataset_id", "数据集编号", "Notes", "Opend at"]
    plan = plan_columns("datasets", header, vocab)
    found = {p.source: (p.column, p.how) for p in plan.placements}
    assert found["Title"] == ("name", "mapping") and found["数据集名称"] == ("name", "duplicate")
    assert found["dataset_id"] == ("dataset_id", "contract")
    assert found["数据集编号"] == ("dataset_id", "duplicate")
    assert found["Notes"] == ("", "ignored")
    unplaced = next(p for p in plan.placements if p.source == "Opend at")
    assert (unplaced.how, unplaced.closest) == ("", "published_at")          # closest to the alias opened_at
    assert plan.rename({"Title": "公交线路", "数据集名称": "x", "Notes": "y"}) == {"name": "公交线路"}
    required, defaulted = plan.missing()
    assert required == ["agency_id", "open_class"] and "format" in defaulted


def test_a_full_url_placed_as_the_endpoint_gives_its_query_to_the_params():
    header = ["请求时间", "数据集编号", "接口地址", "状态码", "客户端IP"]
    plan = plan_columns("access_log", header, vocabulary("access_log"))
    mapper = LogMapper(plan, FileReport("gateway.csv", "access_log"))
    record = dict(zip(header, ["2026-11-02 09:30:00", "DS001", "/gateway/DS001/query?page=8&size=50",
                               "200", "10.0.0.1"], strict=True))
    out = mapper(record, b"raw line")
    assert (out["endpoint"], out["params"]) == ("/gateway/DS001/query", {"page": "8", "size": "50"})


@pytest.mark.parametrize("written, meant", [
    ("10.0.0.2:54321", "10.0.0.2"), ("[2408:8207::1]:443", "2408:8207::1"), (" 10.0.0.3 ", "10.0.0.3"),
    ("2408:8207::1", "2408:8207::1"), ("::ffff:10.0.0.4", "::ffff:10.0.0.4"),
])
def test_a_client_address_written_with_its_port_is_the_address(written, meant):
    header = ["time", "status", "remote_addr"]
    mapper = LogMapper(plan_columns("access_log", header, vocabulary("access_log")),
                       FileReport("gateway.jsonl", "access_log"))
    record = {"time": "2026-11-05 13:00:08", "status": 200, "remote_addr": written}
    assert mapper(record, b"raw")["client_ip"] == meant


@pytest.mark.parametrize("written, meant", [
    ("20261105130008", "2026-11-05 13:00:08"),       # a compact local time, as some gateways write it
    (20261105130008, "2026-11-05 13:00:08"),
    ("1793583000", 1_793_583_000_000),               # epoch seconds (nginx $msec without the fraction)
    ("1793583000.250", 1_793_583_000_250),
])
def test_gateway_times_written_other_ways_become_contract_times(written, meant):
    header = ["time", "status", "remote_addr"]
    mapper = LogMapper(plan_columns("access_log", header, vocabulary("access_log")),
                       FileReport("gateway.jsonl", "access_log"))
    assert mapper({"time": written, "status": 200, "remote_addr": "10.0.0.1"}, b"raw")["ts"] == meant


@pytest.mark.parametrize("header, table", [
    (["数据集编号", "数据集名称", "开放属性", "更新频率"], "datasets"),
    (["投诉编号", "数据集编号", "投诉事由", "收到时间", "处理结果"], "complaints"),
    (["协议编号", "申请编号", "用户编号", "数据集编号", "生效日期", "失效日期"], "agreements"),
    (["申请编号", "用户编号", "数据集编号", "申请时间", "审核结果"], "applications"),
    (["time_iso8601", "remote_addr", "request_uri", "status"], "access_log"),
    (["备注", "联系人"], ""),
])
def test_which_table_a_header_holds(header, table):
    assert guess_table(header) == table


@pytest.mark.parametrize("text, message", [
    ('[datasets.columns]\n"a" = \n', "not valid TOML"),
    ('[datasets]\nfiles = ["x.csv"]\n\n[dataset.columns]\n"Heading" = "name"\n',
     "(line 4): dataset is not a table"),
    ('[datasets]\nfiles = ["x.csv"]\n[datasets.columns]\n"Dataset No." = "dataset_id"\n"Heading" = "titel"\n',
     '(line 5): datasets.columns: "Heading" = "titel": titel is not a datasets column'),
    ('[datasets.values.open_class]\n"public" = "unconditional"\n"on request" = "sometimes"\n',
     '(line 3): datasets.values.open_class: "on request" = "sometimes": use one of unconditional'),
    ('[datasets.values.name]\n"x" = "y"\n', "(line 1): datasets.values.name: name has no value set"),
    ('[consumers.defaults]\nkind = "alien"\n',
     '(line 2): consumers.defaults: kind = "alien": use one of person'),
    ('[datasets.defaults]\nopen_clas = "closed"\n',
     "(line 2): datasets.defaults: open_clas is not a datasets column"),
])
def test_a_mapping_file_error_names_the_line_and_the_key(text, message):
    with pytest.raises(UserError) as raised:
        parse_mapping(text, "mapping.toml")
    assert str(raised.value).startswith("mapping.toml") and message in str(raised.value)
