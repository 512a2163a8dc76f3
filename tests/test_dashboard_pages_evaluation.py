"""The evaluation page (dashboard/pages/evaluation.py) through AppTest: the ranking and the basis of
every score for the roles that may open it, on the hand-built platform of the pages
(tests/pages_platform.py); and, on the hand-built year (tests/evaluation_year.py), the page as an agency
sees it (its own result, the city mean, no other agency's name, an objection, a rectification item)
and as an official answers it."""

from __future__ import annotations

import pytest
from evaluation_year import build_two_agency_year
from page_apps import frames, page_app, render
from pages_platform import USERS, run_page

from dashboard.auth import User
from dashboard.session import USER_KEY, today
from reports import evaluation_store

AGENCY = User("alice", "agency", "a1")
OFFICIAL = User("olivia", "official")


# ---- Each role that may open it, on the hand-built platform ------------------------------------------------

@pytest.mark.parametrize("role", ["official", "admin"])
def test_evaluation_page(hand_built_pages, role):
    app = run_page("evaluation", role)
    assert app.title[0].value == "年度评估"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["参评开放主体"] == "2"
    ranking = next(f for f in frames(app) if "名次" in f.columns)
    assert sorted(ranking["名次"]) == [1, 2]
    assert set(ranking["等级"]) <= {"优秀", "良好", "合格", "不合格"}
    # The basis of every score of the chosen agency, and the weights in force (they sum to 100).
    inputs = next(f for f in frames(app) if "依据" in f.columns and "评分规则" in f.columns)
    assert len(inputs) == 7 and inputs["依据"].str.len().min() > 0
    weights = next(f for f in frames(app) if list(f.columns) == ["维度", "分值", "评分规则"])
    assert weights["分值"].sum() == 100


def test_evaluation_page_year_picker_and_refusal(hand_built_pages):
    app = run_page("evaluation", "official", lang="en")
    app.selectbox(key="evaluation_year").set_value(today().year - 1).run()
    assert not app.exception
    assert app.title[0].value == "Annual evaluation"
    refused = page_app("evaluation", timeout=90)
    refused.session_state[USER_KEY] = USERS["security"]
    refused.run()
    assert [e.value for e in refused.error] and not refused.dataframe   # security staff may not open it


# ---- An agency's result, its objection and an official's answer, on the hand-built year --------------------

@pytest.fixture
def published(settings, env_client):
    build_two_agency_year(env_client)
    evaluation_store.publish(env_client, settings, 2025, "olivia")  # the review window opens today
    return env_client


def run(user: User, year: int = 2025):
    return render("evaluation", user, state={"evaluation_year": year}, timeout=120)


def page_text(app) -> str:
    parts = [str(f.to_dict()) for f in frames(app)]
    parts += [m.label + str(m.value) for m in app.metric] + [e.value for e in app.markdown]
    parts += [e.value for e in app.caption] + [e.value for e in app.info]
    return "\n".join(parts)


def test_an_agency_sees_its_own_result_and_the_city_mean_only(published):
    app = run(AGENCY)
    assert "复核中" in app.info[0].value
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["总分"] == "79.34" and metrics["排名"] == "1 / 2" and metrics["评估覆盖"] == "100%"
    own = next(f for f in frames(app) if "全市平均得分率" in f.columns)
    assert len(own) == 7 and set(own["维度"]) >= {"数据质量", "更新及时性"}
    assert (
        own.loc[own["维度"] == "数据质量", "失分及未评估原因"]
        .iloc[0]
        .endswith("内容维度未评估（不计入分母）")
    )
    assert "市卫生健康委员会" not in page_text(app) and "a2" not in page_text(app)
    assert not any(b.label == "发布复核" for b in app.button)  # officials only


def test_an_agency_files_an_objection_and_records_a_rectification_item(published):
    app = run(AGENCY)
    app.selectbox(key="evaluation_objection_dimension").set_value("timeliness")
    app.text_area(key="evaluation_objection_reason").input("企业运力已于12月按周更新")
    next(b for b in app.button if b.label == "提交复核申请").click().run()
    assert not app.exception and app.success[0].value == "复核申请已提交。"
    app.text_input(key="evaluation_rectification_description").input("建立每周更新提醒")
    next(b for b in app.button if b.label == "登记整改事项").click().run()
    assert not app.exception and any(s.value == "整改事项已登记。" for s in app.success)
    [objection] = evaluation_store.list_objections(published, 2025, "a1")
    assert (objection["dimension"], objection["filed_by"], objection["status"]) == (
        "timeliness",
        "alice",
        "open",
    )
    [item] = evaluation_store.list_rectifications(published, 2025, "a1")
    assert item["description"] == "建立每周更新提醒" and item["status"] == "planned"
    app = run(AGENCY)
    items = next(f for f in frames(app) if "完成期限" in f.columns)
    assert list(items["整改事项"]) == ["建立每周更新提醒"] and list(items["状态"]) == ["未开始"]

    official = run(OFFICIAL)
    waiting = next(f for f in frames(official) if "复核理由" in f.columns)
    assert list(waiting["状态"]) == ["待答复"]
    official.radio(key="evaluation_answer_accepted").set_value(False)
    official.text_area(key="evaluation_answer_text").input("以平台目录同步时间为准")
    next(b for b in official.button if b.label == "答复").click().run()
    assert not official.exception
    [answered] = evaluation_store.list_objections(published, 2025, "a1")
    assert (answered["status"], answered["answered_by"]) == ("rejected", "olivia")
    actions = [a for (a,) in published.query("SELECT action FROM audit_log ORDER BY seq").result_rows]
    assert actions == [
        "evaluation.publish",
        "evaluation.objection",
        "evaluation.rectification",
        "evaluation.objection_answer",
    ]


def test_an_official_publishes_a_draft_year(published):
    app = run(OFFICIAL, 2026)
    assert "草稿" in app.info[0].value
    next(b for b in app.button if b.label == "发布复核").click().run()
    assert not app.exception
    assert evaluation_store.year_state(published, 2026)["state"] == "published"
    ranking = next(f for f in frames(app) if "名次" in f.columns)
    assert set(ranking["等级"]) <= {"优秀", "良好", "合格", "不合格"}
