"""Surveying a folder of exports and logs for `odwatch mapping init`: which table each file holds,
where its columns go and which of its values have no match, as a starting mapping file.

Nothing is loaded and no engine is needed: reference files go through the reference loader's
dry run, access logs through their first lines.
"""

from __future__ import annotations

from pathlib import Path

from ingest.contract import ACCESS_LOG, REFERENCE_TABLES, TABLES
from ingest.loader import plan_file
from ingest.mapping import FileReport, guess_table, plan_columns, starting_mapping, vocabulary
from ingest.readers import DEFAULT_LIMITS, detect_encoding, detect_format, file_columns, read_chunks
from ingest.reference import load_reference_file
from odwatch.errors import UserError

SAMPLE_LINES = 10_000   # of an access log, for the values its channel column uses

# Words in a file's name that say which table it holds, for a file whose columns do not.
NAME_HINTS = {
    "datasets": ("dataset", "catalog", "目录", "清单", "数据集", "资源"),
    "agencies": ("agenc", "单位", "部门", "机构"),
    "consumers": ("consumer", "user", "用户", "利用主体"),
    "api_keys": ("key", "密钥"),
    "agreements": ("agreement", "协议"),
    "applications": ("application", "申请"),
    "usage_reports": ("report", "报告", "反馈"),
    "complaints": ("complaint", "投诉", "异议"),
    ACCESS_LOG: ("log", "access", "日志", "gateway", "网关"),
}


def survey(directory: Path, encoding: str | None = None) -> list[FileReport]:
    """One report per file of the folder (hidden files left out)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"No such directory: {directory}")
    return [_survey_file(path, encoding) for path in sorted(directory.iterdir())
            if path.is_file() and not path.name.startswith(".")]


def starting_mapping_for(directory: Path, encoding: str | None = None) -> str:
    return starting_mapping(survey(directory, encoding), str(directory))


def _survey_file(path: Path, encoding: str | None) -> FileReport:
    try:
        fmt = detect_format(path)
    except UserError:
        return FileReport(str(path), problem="not a format odwatch reads (CSV, JSON Lines, Parquet, web log)")
    encoding = encoding or detect_encoding(path)
    if fmt == "combined":
        return FileReport(str(path), problem="a web server log (combined format): it loads without a mapping")
    header = file_columns(path, fmt, encoding)
    table, found_by = guess_table(header), "columns"
    if not table:
        table, found_by = _loose_guess(path.name, header), "name (a guess: check it)"
    if not table:
        return FileReport(str(path), problem="its name and columns match no table")
    if table in REFERENCE_TABLES:
        return load_reference_file(None, table, path, encoding=encoding, dry_run=True, found_by=found_by)
    return _survey_log(path, fmt, encoding, found_by)


def _loose_guess(name: str, header: list[str]) -> str:
    """A table for a file whose columns name none: by words in its name, else by the columns most
    like a table's."""
    lowered = name.lower()
    for table, words in NAME_HINTS.items():
        if any(word in lowered for word in words):
            return table
    likeness = [(sum(1 for column in header if vocabulary(t).closest(column)), t) for t in TABLES]
    best = max(likeness)
    return best[1] if best[0] else ""


def _survey_log(path: Path, fmt: str, encoding: str, found_by: str) -> FileReport:
    source = plan_file(path, fmt, None, encoding, DEFAULT_LIMITS)
    report = source.report
    report.found_by = found_by
    if source.options.convert is None:
        report.use_plan(plan_columns(ACCESS_LOG, file_columns(path, fmt, encoding), vocabulary(ACCESS_LOG)))
        return report
    for chunk in read_chunks(path, fmt, 1000, source.options):   # the mapper counts values with no match
        if chunk.last_line >= SAMPLE_LINES:
            break
    return report
