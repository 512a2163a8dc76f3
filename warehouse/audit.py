"""The append-only, hash-chained audit trail (第二十四条(五), 第二十五条).

Each row's hash is SHA-256 over the previous row's hash and the row's own
content, so editing a row breaks its hash and deleting one breaks the chain
(a gap in `seq` or a `prev_hash` that does not match).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime

from clickhouse_connect.driver.client import Client

from odwatch import clock

GENESIS = "0" * 64
_append_lock = threading.Lock()

CHAIN_HEAD = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"

CHAIN_IN_ORDER = """
SELECT seq, at, actor, action, object_type, object_id, detail, prev_hash, hash
FROM audit_log
ORDER BY seq
"""

COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_id", "detail", "prev_hash", "hash"]


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


def _row_hash(prev_hash: str, seq: int, at: datetime, actor: str, action: str,
              object_type: str, object_id: str, detail: str) -> str:
    # Milliseconds since the epoch: the stored DateTime64(3) round-trips exactly.
    millis = int(round(at.timestamp() * 1000))
    payload = json.dumps(
        [prev_hash, seq, millis, actor, action, object_type, object_id, detail],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(client: Client, actor: str, action: str, object_type: str = "",
           object_id: str = "", detail: dict | None = None) -> int:
    """Append one audit entry; returns its sequence number."""
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    with _append_lock:
        head = client.query(CHAIN_HEAD).result_rows
        seq, prev_hash = (head[0][0] + 1, head[0][1]) if head else (1, GENESIS)
        now = clock.now_ms()
        digest = _row_hash(prev_hash, seq, now, actor, action, object_type, object_id, detail_text)
        client.insert(
            "audit_log",
            [[seq, now, actor, action, object_type, object_id, detail_text, prev_hash, digest]],
            column_names=COLUMNS,
        )
    return seq


def verify(client: Client) -> tuple[int, list[ChainProblem]]:
    """Walk the chain; returns the number of entries read and every break found."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq, count = GENESIS, 1, 0
    with client.query_rows_stream(CHAIN_IN_ORDER) as stream:
        for seq, at, actor, action, object_type, object_id, detail, prev_hash, digest in stream:
            count += 1
            if seq != expected_seq:
                problems.append(ChainProblem(expected_seq, f"entries {expected_seq}–{seq - 1} are missing"))
            elif prev_hash != expected_prev:
                problems.append(ChainProblem(seq, "does not follow the entry before it"))
            if _row_hash(prev_hash, seq, at, actor, action, object_type, object_id, detail) != digest:
                problems.append(ChainProblem(seq, "was changed after it was written"))
            expected_prev, expected_seq = digest, seq + 1
    return count, problems
