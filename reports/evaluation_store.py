"""The annual evaluation's life cycle and the agencies' answers to it (第三十七条).

draft (computed on demand) → published for the agencies' review (复核) → final (定稿).
Publishing stores the whole evaluation as canonical JSON with its SHA-256; from then on the year
is read back from the store, never computed again, so a catalog reload or a new violation no
longer moves it. Finalizing freezes what was published, once the review window is over and
every objection has an answer (an official who accepts one corrects the data and publishes
again, which opens a new window).

Agencies file objections (复核申请) within the window and record rectification items (整改);
officials answer objections. Every step is an audit entry (warehouse.audit).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import date

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.errors import UserError
from odwatch.i18n import chinese_date
from odwatch.settings import Settings
from reports.evaluation import (
    LABELS,
    Evaluation,
    attach_comparison,
    draft_year,
    evaluation_weights,
    review_deadline,
)
from reports.quality import quality_weights
from warehouse import audit
from warehouse.cache import cached

STATES = ("draft", "published", "final")
STATE_LABELS = {"draft": "草稿", "published": "复核中", "final": "已定稿"}
OBJECTION_STATUSES = ("open", "accepted", "rejected")
OBJECTION_LABELS = {"open": "待答复", "accepted": "已采纳", "rejected": "未采纳"}
RECTIFICATION_STATUSES = ("planned", "in_progress", "done")
RECTIFICATION_LABELS = {"planned": "未开始", "in_progress": "整改中", "done": "已完成"}

LATEST_STATE = """
SELECT year, toString(state) AS state, review_until, snapshot, content_hash, actor, recorded_at
FROM evaluation_states
WHERE year = {year:UInt16}
ORDER BY recorded_at DESC
LIMIT 1
"""

STATE_COLUMNS = ["year", "state", "review_until", "snapshot", "content_hash", "actor", "recorded_at"]

OBJECTIONS = """
SELECT objection_id, year, agency_id, toString(dimension) AS dimension, reason, filed_by, filed_at,
       toString(status) AS status, answer, answered_by, answered_at
FROM evaluation_objections FINAL
WHERE year = {year:UInt16} AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
  AND ({objection_id:String} = '' OR objection_id = {objection_id:String})
ORDER BY filed_at, objection_id
"""

OBJECTION_COLUMNS = [
    "objection_id",
    "year",
    "agency_id",
    "dimension",
    "reason",
    "filed_by",
    "filed_at",
    "status",
    "answer",
    "answered_by",
    "answered_at",
    "updated_at",
]

RECTIFICATIONS = """
SELECT item_id, year, agency_id, toString(dimension) AS dimension, description, due_date,
       toString(status) AS status, note, created_by, created_at, updated_by, updated_at
FROM rectifications FINAL
WHERE year = {year:UInt16} AND ({agency_id:String} = '' OR agency_id = {agency_id:String})
  AND ({item_id:String} = '' OR item_id = {item_id:String})
ORDER BY due_date, created_at, item_id
"""

RECTIFICATION_COLUMNS = [
    "item_id",
    "year",
    "agency_id",
    "dimension",
    "description",
    "due_date",
    "status",
    "note",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
]


def canonical_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


# Where the year is in its life cycle, not what it says: left out of the hash so that the final text of
# unchanged figures carries the hash of the published one the agencies reviewed.
LIFE_CYCLE_FIELDS = ("state", "review_until", "recorded_at", "content_hash")


def content_hash(evaluation: Evaluation) -> str:
    """SHA-256 of the evaluation's figures and inputs only (not its state, review deadline, stored time
    or hash): published and final versions of the same figures share one hash."""
    data = {k: v for k, v in evaluation.to_dict().items() if k not in LIFE_CYCLE_FIELDS}
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def _rows(result) -> list[dict]:
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


@cached
def _latest(client: Client, year: int) -> dict | None:
    rows = _rows(client.query(LATEST_STATE, parameters={"year": year}))
    return rows[0] if rows else None


def year_state(client: Client, year: int) -> dict:
    """{state, label, review_until, content_hash, recorded_at, actor} of a year; a draft has no row."""
    row = _latest(client, year)
    if row is None:
        return {
            "state": "draft",
            "label": STATE_LABELS["draft"],
            "review_until": None,
            "content_hash": "",
            "recorded_at": None,
            "actor": "",
        }
    return {
        "state": row["state"],
        "label": STATE_LABELS[row["state"]],
        "review_until": row["review_until"],
        "content_hash": row["content_hash"],
        "recorded_at": row["recorded_at"],
        "actor": row["actor"],
    }


def stored_evaluation(client: Client, year: int) -> Evaluation | None:
    """The published or final evaluation of `year` as stored, or None for a draft year."""
    row = _latest(client, year)
    if row is None:
        return None
    return Evaluation.from_dict(json.loads(row["snapshot"]))


def _store(client: Client, evaluation: Evaluation, actor: str) -> Evaluation:
    recorded = clock.now_ms()
    evaluation.recorded_at = recorded.strftime("%Y-%m-%d %H:%M:%S")
    evaluation.content_hash = content_hash(evaluation)
    snapshot = canonical_json(evaluation.to_dict())
    client.insert(
        "evaluation_states",
        [
            [
                evaluation.year,
                evaluation.state,
                evaluation.review_until or date(1970, 1, 1),
                snapshot,
                evaluation.content_hash,
                actor,
                recorded,
            ]
        ],
        column_names=STATE_COLUMNS,
    )
    return evaluation


def evaluate_year(client: Client, settings: Settings, year: int, today: date | None = None) -> Evaluation:
    """The evaluation of `year`: the stored one when published or final, else a draft computed
    now; with each agency's change on the year before on the same basis."""
    today = today or clock.today()
    if not 2000 <= year <= today.year:
        raise UserError(f"Cannot evaluate {year}: choose a year between 2000 and {today.year}.")
    return stored_evaluation(client, year) or _draft_with_comparison(client, settings, year, today)


def _draft_with_comparison(client: Client, settings: Settings, year: int, today: date) -> Evaluation:
    weights = tuple(evaluation_weights(settings).items())
    q_weights = tuple(quality_weights(settings).items())
    evaluation = draft_year(client, year, today, weights, q_weights)
    previous = None
    if year - 1 >= 2000:
        previous = stored_evaluation(client, year - 1)
        previous = previous or draft_year(client, year - 1, today, weights, q_weights)
    attach_comparison(evaluation, previous)
    return evaluation


def publish(
    client: Client, settings: Settings, year: int, actor: str, today: date | None = None
) -> Evaluation:
    """Store the year's evaluation as computed now and open the agencies' review window."""
    today = today or clock.today()
    state = year_state(client, year)["state"]
    if state == "final":
        raise UserError(f"{year}年度评估已定稿，不能再次发布。")
    if not 2000 <= year <= today.year:
        raise UserError(f"Cannot publish {year}: choose a year between 2000 and {today.year}.")
    evaluation = _draft_with_comparison(client, settings, year, today)
    evaluation.state = "published"
    evaluation.review_until = review_deadline(today, settings.evaluation_review_working_days)
    _store(client, evaluation, actor)
    audit.record(
        client,
        actor,
        "evaluation.publish",
        "evaluation",
        str(year),
        {"review_until": evaluation.review_until, "content_hash": evaluation.content_hash},
    )
    return evaluation


def finalize(client: Client, year: int, actor: str, today: date | None = None) -> Evaluation:
    """Freeze the published evaluation (定稿) once its review window is over and every objection answered."""
    today = today or clock.today()
    published = stored_evaluation(client, year)
    if published is None:
        raise UserError(f"{year}年度评估尚未发布复核，请先发布（odwatch evaluate --year {year} --publish）。")
    if published.state == "final":
        raise UserError(f"{year}年度评估已于{chinese_date(published.recorded_day())}定稿。")
    if today <= published.review_until:
        raise UserError(f"{year}年度评估复核期至{chinese_date(published.review_until)}，期满后方可定稿。")
    waiting = [o for o in list_objections(client, year) if o["status"] == "open"]
    if waiting:
        raise UserError(f"尚有 {len(waiting)} 件复核申请未答复，答复后方可定稿。")
    final = replace(published, state="final")
    _store(client, final, actor)
    audit.record(
        client, actor, "evaluation.finalize", "evaluation", str(year), {"content_hash": final.content_hash}
    )
    return final


# ---------------------------------------------------------------- objections (复核申请)


def _check_dimension(dimension: str) -> None:
    if dimension and dimension not in LABELS:
        raise UserError(f"Unknown dimension {dimension!r}; choose one of {', '.join(LABELS)}.")


def list_objections(
    client: Client, year: int, agency_id: str | None = None, objection_id: str | None = None
) -> list[dict]:
    params = {"year": year, "agency_id": agency_id or "", "objection_id": objection_id or ""}
    return _rows(client.query(OBJECTIONS, parameters=params))


def file_objection(
    client: Client,
    year: int,
    agency_id: str,
    reason: str,
    actor: str,
    dimension: str = "",
    today: date | None = None,
) -> str:
    """An agency's objection to its published result, within the review window; returns its id."""
    today = today or clock.today()
    _check_dimension(dimension)
    reason = reason.strip()
    if not reason:
        raise UserError("请填写复核理由。")
    published = stored_evaluation(client, year)
    if published is None or published.state != "published":
        raise UserError(f"{year}年度评估不在复核期内。")
    if today > published.review_until:
        raise UserError(f"复核期已于{chinese_date(published.review_until)}结束。")
    if agency_id not in {a.agency_id for a in published.agencies}:
        raise UserError("本单位不在该年度的评估范围内。")
    objection_id = f"obj-{year}-{uuid.uuid4().hex[:10]}"
    now = clock.now_ms()
    client.insert(
        "evaluation_objections",
        [[objection_id, year, agency_id, dimension, reason, actor, now, "open", "", "", None, now]],
        column_names=OBJECTION_COLUMNS,
    )
    audit.record(
        client,
        actor,
        "evaluation.objection",
        "evaluation_objection",
        objection_id,
        {"year": year, "agency_id": agency_id, "dimension": dimension, "reason": reason},
    )
    return objection_id


def answer_objection(
    client: Client, year: int, objection_id: str, accepted: bool, answer: str, actor: str
) -> None:
    """An official's answer to an objection: accepted (the data is corrected and the year published
    again) or not, with the reason."""
    answer = answer.strip()
    if not answer:
        raise UserError("请填写答复意见。")
    found = list_objections(client, year, objection_id=objection_id)
    if not found:
        raise UserError(f"No objection {objection_id} for {year}.")
    row = found[0]
    now = clock.now_ms()
    status = "accepted" if accepted else "rejected"
    client.insert(
        "evaluation_objections",
        [
            [
                row["objection_id"],
                row["year"],
                row["agency_id"],
                row["dimension"],
                row["reason"],
                row["filed_by"],
                row["filed_at"],
                status,
                answer,
                actor,
                now,
                now,
            ]
        ],
        column_names=OBJECTION_COLUMNS,
    )
    audit.record(
        client,
        actor,
        "evaluation.objection_answer",
        "evaluation_objection",
        objection_id,
        {"year": year, "status": status, "answer": answer},
    )


# ---------------------------------------------------------------- rectification (整改)


def list_rectifications(
    client: Client, year: int, agency_id: str | None = None, item_id: str | None = None
) -> list[dict]:
    params = {"year": year, "agency_id": agency_id or "", "item_id": item_id or ""}
    return _rows(client.query(RECTIFICATIONS, parameters=params))


def add_rectification(
    client: Client,
    year: int,
    agency_id: str,
    description: str,
    due_date: date,
    actor: str,
    dimension: str = "",
) -> str:
    """A rectification item an agency commits to for a published or final year; returns its id."""
    _check_dimension(dimension)
    description = description.strip()
    if not description:
        raise UserError("请填写整改事项。")
    if stored_evaluation(client, year) is None:
        raise UserError(f"{year}年度评估尚未发布，发布后再登记整改事项。")
    item_id = f"rect-{year}-{uuid.uuid4().hex[:10]}"
    now = clock.now_ms()
    client.insert(
        "rectifications",
        [[item_id, year, agency_id, dimension, description, due_date, "planned", "", actor, now, actor, now]],
        column_names=RECTIFICATION_COLUMNS,
    )
    audit.record(
        client,
        actor,
        "evaluation.rectification",
        "rectification",
        item_id,
        {
            "year": year,
            "agency_id": agency_id,
            "dimension": dimension,
            "description": description,
            "due_date": due_date,
        },
    )
    return item_id


def update_rectification(
    client: Client, year: int, item_id: str, status: str, note: str, actor: str, agency_id: str | None = None
) -> None:
    """Move a rectification item to another status, with a note; an agency only its own items."""
    if status not in RECTIFICATION_STATUSES:
        raise UserError(f"Unknown status {status!r}; choose one of {', '.join(RECTIFICATION_STATUSES)}.")
    found = list_rectifications(client, year, agency_id=agency_id, item_id=item_id)
    if not found:
        raise UserError(f"No rectification item {item_id} for {year}.")
    row = found[0]
    client.insert(
        "rectifications",
        [
            [
                row["item_id"],
                row["year"],
                row["agency_id"],
                row["dimension"],
                row["description"],
                row["due_date"],
                status,
                note.strip(),
                row["created_by"],
                row["created_at"],
                actor,
                clock.now_ms(),
            ]
        ],
        column_names=RECTIFICATION_COLUMNS,
    )
    audit.record(
        client,
        actor,
        "evaluation.rectification_update",
        "rectification",
        item_id,
        {"year": year, "status": status, "note": note.strip()},
    )
