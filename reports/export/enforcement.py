"""The gateway enforcement list: keys to restrict or refuse, as JSON or CSV (第三十一条 measures).

The gateway polls this file; it is regenerated whole each time and replaced
atomically, so the gateway never reads half a list.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
from clickhouse_connect.driver.client import Client

from detectors.violations import enforcement_list
from odwatch import clock
from odwatch.clock import SHANGHAI
from reports.export.files import check_format, write_atomically
from reports.export.tables import dataframe_to_csv_bytes

ENFORCEMENT_FORMATS = ("json", "csv")
COLUMNS = ["key_id", "consumer_id", "consumer_name", "status", "starts_at", "ends_at", "violation_id",
           "measure_id"]


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value is not None else None


def enforcement_records(client: Client) -> list[dict]:
    """The list with times as ISO 8601 in Shanghai time (no end: until lifted)."""
    return [{**row, "starts_at": _iso(row["starts_at"]), "ends_at": _iso(row["ends_at"])}
            for row in enforcement_list(client)]


def _write_json(records: list[dict], path: Path) -> None:
    payload = {"generated_at": clock.now().isoformat(timespec="seconds"), "keys": records}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_csv(records: list[dict], path: Path) -> None:
    frame = pl.DataFrame(records, schema={c: pl.String for c in COLUMNS})
    path.write_bytes(dataframe_to_csv_bytes(frame, byte_order_mark=False))      # a gateway reads it


def write_enforcement_list(client: Client, fmt: str, out: Path) -> Path:
    """Write the restricted/closed keys for the gateway as json or csv."""
    fmt = check_format(fmt, ENFORCEMENT_FORMATS)
    records = enforcement_records(client)
    writer = _write_json if fmt == "json" else _write_csv
    return write_atomically(Path(out), lambda tmp: writer(records, tmp))
