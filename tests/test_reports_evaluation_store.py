"""Published and final evaluations (reports/evaluation_store.py): a published year is stored with its
content hash and its review period, a final one never computed again whatever the data do later; the
agencies' objections and rectification items, recorded, answered and audited, within the review period
only."""

from __future__ import annotations

from datetime import date

import pytest
from evaluation_year import RELOADED_CATALOG, TODAY, build_two_agency_year, insert_violation

from odwatch import clock
from odwatch.errors import UserError
from odwatch.i18n import chinese_date
from reports import evaluation_store
from reports.evaluation_store import canonical_json, content_hash, evaluate_year


def test_a_final_year_is_never_computed_again(client, settings):
    build_two_agency_year(client)
    published = evaluation_store.publish(client, settings, 2025, "olivia", today=TODAY)
    assert published.state == "published" and published.review_until == date(2026, 12, 11)
    assert published.content_hash == content_hash(published)
    with pytest.raises(UserError, match="复核期"):
        evaluation_store.finalize(client, 2025, "olivia", today=TODAY)
    final = evaluation_store.finalize(client, 2025, "olivia", today=date(2026, 12, 12))
    assert final.content_hash == published.content_hash  # what the agencies reviewed is what is final
    figures = canonical_json(evaluate_year(client, settings, 2025, today=TODAY).to_dict())

    client.command(RELOADED_CATALOG)
    insert_violation(client, "v7", "2025-12-01 10:00:00", "critical")
    client.command(
        "INSERT INTO quality_checks (run_id, dataset_id, agency_id, checked_at, total, dimensions, "
        "losses, profiled) VALUES ('r9', 'd2', 'a1', '2025-12-30 10:00:00', 10, {}, '[]', 0)"
    )
    again = evaluate_year(client, settings, 2025, today=TODAY)
    assert canonical_json(again.to_dict()) == figures
    assert again.state == "final" and again.content_hash == final.content_hash == content_hash(again)
    with pytest.raises(UserError, match="已定稿"):
        evaluation_store.publish(client, settings, 2025, "olivia", today=TODAY)
    finalized_on = chinese_date(clock.today())
    with pytest.raises(UserError, match=f"已于{finalized_on}定稿。$"):
        evaluation_store.finalize(client, 2025, "olivia", today=date(2026, 12, 12))
    states = client.query("SELECT state FROM evaluation_states ORDER BY recorded_at").result_rows
    assert [s for (s,) in states] == ["published", "final"]


def test_objections_and_rectification_items_are_recorded_and_audited(client, settings):
    build_two_agency_year(client)
    with pytest.raises(UserError, match="不在复核期"):
        evaluation_store.file_objection(client, 2025, "a1", "数据有误", "alice", today=TODAY)
    evaluation_store.publish(client, settings, 2025, "olivia", today=TODAY)
    with pytest.raises(UserError):
        evaluation_store.file_objection(client, 2025, "a1", "  ", "alice", today=TODAY)
    objection = evaluation_store.file_objection(
        client, 2025, "a1", "d2 已于12月更新，目录未同步", "alice", dimension="timeliness", today=TODAY
    )
    with pytest.raises(UserError, match="复核期已于"):
        evaluation_store.file_objection(client, 2025, "a1", "再议", "alice", today=date(2026, 12, 14))
    with pytest.raises(UserError, match="未答复"):
        evaluation_store.finalize(client, 2025, "olivia", today=date(2026, 12, 14))
    evaluation_store.answer_objection(client, 2025, objection, False, "目录记录以平台同步为准", "olivia")
    [row] = evaluation_store.list_objections(client, 2025, "a1")
    assert (row["status"], row["answer"], row["answered_by"]) == (
        "rejected",
        "目录记录以平台同步为准",
        "olivia",
    )
    item = evaluation_store.add_rectification(
        client, 2025, "a1", "按周更新企业运力数据", date(2027, 3, 31), "alice", dimension="timeliness"
    )
    evaluation_store.update_rectification(
        client, 2025, item, "in_progress", "已建立更新提醒", "alice", agency_id="a1"
    )
    with pytest.raises(UserError):  # another agency's item is not found for a2
        evaluation_store.update_rectification(client, 2025, item, "done", "", "bob", agency_id="a2")
    [rect] = evaluation_store.list_rectifications(client, 2025, "a1")
    assert (rect["status"], rect["note"], rect["due_date"]) == (
        "in_progress",
        "已建立更新提醒",
        date(2027, 3, 31),
    )
    evaluation_store.finalize(client, 2025, "olivia", today=date(2026, 12, 14))
    actions = client.query("SELECT action, actor FROM audit_log ORDER BY seq").result_rows
    assert actions == [
        ("evaluation.publish", "olivia"),
        ("evaluation.objection", "alice"),
        ("evaluation.objection_answer", "olivia"),
        ("evaluation.rectification", "alice"),
        ("evaluation.rectification_update", "alice"),
        ("evaluation.finalize", "olivia"),
    ]
