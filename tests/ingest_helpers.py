"""Small, real-shaped access-log lines and files for the ingest tests."""

from __future__ import annotations

import json
from pathlib import Path


def event(n: int, **changes) -> dict:
    """A valid gateway record; `changes` override or (with value ...) remove fields."""
    record = {
        "event_id": f"evt-{n:06d}",
        "ts": f"2026-11-{1 + n % 20:02d}T{n % 24:02d}:15:30.250+08:00",
        "consumer_id": f"C{n % 7:04d}",
        "key_id": f"ak_{n % 7:04d}",
        "dataset_id": f"DS{n % 5:03d}",
        "channel": "api",
        "endpoint": f"/api/v1/datasets/DS{n % 5:03d}/rows",
        "method": "GET",
        "status": 200,
        "latency_ms": 35 + n % 50,
        "rows": 100,
        "bytes": 20_480,
        "fields": ["name", "address"],
        "scenario": "traffic_planning",
        "client_ip": f"10.{n % 250}.3.{1 + n % 200}",
        "user_agent": "python-requests/2.31.0",
        "params": {"page": 1 + n % 9, "page_size": 100},
    }
    for key, value in changes.items():
        if value is ...:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(item + b"\n" for item in lines))
    return path
