"""`odwatch alerts export`: one alert per line, as JSON Lines or CSV.

Each line carries what a reviewer needs without the database: category,
detector, article, severity, score, status, the entity, dataset, window and the
evidence (an object in JSONL, a JSON string in CSV). The title is rendered in the
export's language (detectors.messages); the message key and its parameters come
along, so a reader in another language can render it again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import IO, Any

from clickhouse_connect.driver.client import Client

from detectors.messages import parameters
from detectors.store import AlertFilters, list_alerts
from odwatch.cells import neutralise_formula
from odwatch.errors import UserError

EXPORT_FIELDS = [
    "alert_id", "category", "detector_id", "article", "severity", "score", "status", "assignee",
    "consumer_id", "key_id", "client_ip", "dataset_id", "agency_id", "window_start", "window_end",
    "title", "message_key", "message_params", "group_key", "evidence",
]
FORMATS = ("jsonl", "csv")


def export_record(alert: dict[str, Any]) -> dict[str, Any]:
    record = {name: alert.get(name, "") for name in EXPORT_FIELDS}
    record["window_start"] = alert["window_start"].isoformat()
    record["window_end"] = alert["window_end"].isoformat()
    record["score"] = round(float(alert["score"]), 4)
    record["evidence"] = json.loads(alert.get("evidence") or "{}")
    record["message_params"] = parameters(alert)
    return record


def write_alerts(records: list[dict[str, Any]], fmt: str, stream: IO[str]) -> None:
    if fmt == "jsonl":
        for record in records:
            stream.write(json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n")
        return
    writer = csv.DictWriter(stream, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for record in records:
        row = {**record, "evidence": json.dumps(record["evidence"], ensure_ascii=False),
               "message_params": json.dumps(record["message_params"], ensure_ascii=False)}
        writer.writerow({name: neutralise_formula(value) for name, value in row.items()})


def export_alerts(client: Client, fmt: str, out: Path | None = None,
                  filters: AlertFilters | None = None) -> tuple[int, str | None]:
    """Write the filtered alerts to `out` (or return the text when out is None): (count, text)."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown export format '{fmt}'. Use jsonl or csv.")
    base = filters or AlertFilters()
    alerts = list_alerts(client, AlertFilters(**{**base.__dict__, "limit": None, "offset": 0}))
    records = [export_record(a) for a in alerts]
    if out is None:
        buffer = io.StringIO()
        write_alerts(records, fmt, buffer)
        return len(records), buffer.getvalue()
    if out.parent and not out.parent.exists():
        raise UserError(f"The folder {out.parent} does not exist.")
    # Write beside the target and rename, so a failed export never leaves half a file behind.
    partial = out.with_name(out.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as stream:
        write_alerts(records, fmt, stream)
    partial.replace(out)
    return len(records), None
