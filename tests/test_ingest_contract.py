"""The input contract has one text, docs/input-contract.md: its column lists, required columns and
defaults are the code's (ingest/contract.py) and the warehouse's; docs/connecting.md lists every
built-in alias."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.contract import (
    ACCESS_LOG_COLUMNS,
    ACCESS_LOG_REQUIRED,
    CHOICES,
    DEFAULTS,
    REFERENCE_COLUMNS,
    REFERENCE_TABLES,
    columns_of,
    is_required,
)
from ingest.mapping import builtin_aliases
from odwatch.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
CONTRACT = (DOCS / "input-contract.md").read_text(encoding="utf-8")
CONNECTING = (DOCS / "connecting.md").read_text(encoding="utf-8")


def reference_rows() -> dict[str, tuple[str, str]]:
    """table -> (columns cell, rules cell) of the reference-data table in the docs."""
    reference = CONTRACT.split("## Reference data")[1]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \| (.+?) \|$", reference, re.MULTILINE)
    return {table: (columns, rules) for table, columns, rules in rows}


def test_the_reference_tables_are_the_warehouses(client):
    for table in REFERENCE_TABLES:
        stored = client.query("SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                              "AND table = {t:String} AND name != 'updated_at' ORDER BY position",
                              parameters={"t": table}).result_rows
        assert tuple(stored) == REFERENCE_COLUMNS[table], table


def test_the_docs_list_every_reference_column_its_requirement_and_its_default():
    rows = reference_rows()
    assert list(rows) == list(REFERENCE_TABLES)
    for table, (cell, rules) in rows.items():
        entries = [entry.strip() for entry in re.split(r",\s*(?![^()]*\))", cell)]
        names = [re.match(r"\**(\w+)", entry).group(1) for entry in entries]
        assert names == list(columns_of(table)), table
        required = [re.match(r"\*\*(\w+)\*\*", entry).group(1) for entry in entries if entry.startswith("**")]
        assert required == [c for c in columns_of(table) if is_required(table, c)], table
        for (default_table, column), default in DEFAULTS.items():
            if default_table == table:
                entry = entries[names.index(column)]
                note = default.note.split(" (the quality")[0].split(" (1970")[0].split(": ")[0]
                assert "(" in entry and note.split(" ")[0] in entry + rules, (table, column, entry)
        for (choice_table, column), values in CHOICES.items():
            if choice_table == table:
                assert f"{column}: {', '.join(values)}" in rules, (table, column)


def test_the_docs_list_the_access_log_columns_and_the_limits():
    access = CONTRACT.split("## Access log")[1].split("### Limits")[0]
    rows = re.findall(r"^\| `(\w+)` \| .+? \| (yes|no) \|", access, re.MULTILINE)
    assert [name for name, _ in rows] == list(ACCESS_LOG_COLUMNS)
    assert [name for name, req in rows if req == "yes"] == list(ACCESS_LOG_REQUIRED)
    for name in Settings.model_fields:
        if name.startswith("ingest_max") or name.startswith("ingest_rejects"):
            assert f"ODWATCH_{name.upper()}" in CONTRACT, name


def test_the_connecting_guide_lists_every_built_in_alias():
    aliases = CONNECTING.split("## Built-in aliases")[1].split("## For the README")[0]
    for table, body in builtin_aliases().items():
        section = aliases.split(f"#### {table}\n")[1].split("#### ")[0]
        for column, names in body["columns"].items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{column}` |"))
            assert row.split(" | ")[1].rstrip(" |").split(" · ") == names, (table, column)
        for column, values in body.get("values", {}).items():
            for value, words in values.items():
                assert f"- `{value}`: {' · '.join(map(str, words))}" in section, (table, column, value)
