"""The installed `odwatch ingest`, `load-reference` and `mapping init` commands, as a user or a cron
job runs them: exit codes, dry runs, a starting mapping file."""

from __future__ import annotations

import gzip
import json
import tomllib
from pathlib import Path

from ingest_helpers import event, line, write_lines
from odwatch_processes import run_odwatch

EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def test_ingest_exit_codes_strict_and_stopped_files(tmp_path):
    clean = write_lines(tmp_path / "clean.jsonl", [line(event(n)) for n in range(5)])
    mixed = write_lines(tmp_path / "mixed.jsonl",
                        [line(event(n, event_id=f"m-{n}")) for n in range(5)] + [b"{"])
    cut = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(b"".join(line(event(n, event_id=f"c-{n}")) + b"\n" for n in range(500)))
    cut.write_bytes(whole[: len(whole) // 2])

    def ingest(*args: str):
        return run_odwatch(tmp_path, "ingest", *args)

    done = ingest(str(clean), str(mixed), "--strict", "--dry-run")
    assert done.returncode == 1 and "--strict: 1 line(s) rejected." in done.stderr
    assert "would be rejected" in done.stdout and "Traceback" not in done.stderr
    assert ingest(str(clean), "--strict").returncode == 0
    assert ingest(str(mixed)).returncode == 0          # a rejected line is not a failure...
    again = ingest(str(mixed), "--strict", "--json")   # ...unless asked; re-read: duplicates
    assert again.returncode == 0 and json.loads(again.stdout)["duplicates"] == 6
    stopped = ingest(str(cut), "--json")               # a file stopped part-way fails the run
    assert stopped.returncode == 1
    summary = json.loads(stopped.stdout)
    assert summary["stopped"][0]["reason"].startswith("stopped: the compressed data ends early")
    assert summary["read"] == summary["inserted"] + summary["duplicates"] + summary["rejected"]


def test_mapping_init_then_a_dry_run_then_a_load(tmp_path):
    init = run_odwatch(tmp_path, "mapping", "init", str(EXPORTS / "english"))
    assert init.returncode == 0, init.stderr
    assert tomllib.loads(init.stdout)["datasets"]["columns"]["Publisher"] == "agency_id"
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(init.stdout.replace('"Heading" = ""', '"Heading" = "nme"'), encoding="utf-8")
    wrong = run_odwatch(tmp_path, "load-reference", str(EXPORTS / "english"), "--mapping", str(mapping))
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert '(line 12): datasets.columns: "Heading" = "nme": nme is not a datasets column; closest: ' \
           'name' in " ".join(wrong.stderr.split())

    dry = run_odwatch(tmp_path, "load-reference", str(EXPORTS / "portal"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "datasets ← " in dry.stdout and "开放属性 → open_class (alias)" in dry.stdout
    assert 'open_class: values with no match: "部分开放" ×1' in dry.stdout
    dry_json = run_odwatch(tmp_path, "load-reference", str(EXPORTS / "portal"), "--dry-run", "--json")
    as_json = json.loads(dry_json.stdout)
    assert (as_json["datasets"]["loaded"], as_json["datasets"]["rejected"]) == (298, 2)
    loaded = run_odwatch(tmp_path, "load-reference", str(EXPORTS / "portal"))
    assert loaded.returncode == 0 and "datasets" in loaded.stdout


def test_load_reference_exits_1_when_a_file_is_not_loaded_and_names_a_spreadsheet(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "agencies.csv").write_text("agency_id,name\nsh-jtw,上海市交通委员会\n", encoding="utf-8")
    (exports / "备注.csv").write_text("备注,联系人\n见附件,王某\n", encoding="utf-8")
    (exports / "开放数据目录.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    dry = run_odwatch(tmp_path, "load-reference", str(exports), "--dry-run")
    assert dry.returncode == 0 and "Traceback" not in dry.stderr       # a dry run reports, it does not fail
    loaded = run_odwatch(tmp_path, "load-reference", str(exports))
    assert loaded.returncode == 1
    assert "备注.csv: its name and columns match no reference table" in loaded.stdout
    assert "开放数据目录.xlsx: a spreadsheet is not read: save it as CSV" in loaded.stdout
    (exports / "备注.csv").unlink()
    (exports / "开放数据目录.xlsx").unlink()
    fixed = run_odwatch(tmp_path, "load-reference", str(exports), "--json")
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["agencies"]["loaded"] == 1
