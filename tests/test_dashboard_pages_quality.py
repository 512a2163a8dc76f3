"""The quality page (dashboard/pages/quality.py) on the hand-built platform (tests/pages_platform.py):
scores per agency and per dataset with their causes, each role's scope, search, the tabs drawn only when
opened."""

from __future__ import annotations

import pytest
from page_apps import frames
from pages_platform import run_page

QUALITY_TABS = {"agencies": "各开放主体", "datasets": "各数据集与失分原因", "overdue": "逾期未更新",
                "trend": "得分趋势"}


@pytest.mark.parametrize("role", ["official", "agency", "admin"])
def test_quality_page(hand_built_pages, role):
    app = run_page("quality", role, state={"quality_tab": QUALITY_TABS["datasets"]})
    assert app.title[0].value == "数据质量"
    scored = next(m for m in app.metric if m.label == "已评分数据集")
    assert scored.value == ("2" if role == "agency" else "3")
    by_dataset = next(f for f in frames(app) if "数据集编号" in f.columns)
    assert set(by_dataset["数据集编号"]) == ({"d1", "d2"} if role == "agency" else {"d1", "d2", "d3"})
    # The causes of the chosen dataset's score are listed, each with its points.
    losses = next(f for f in frames(app) if "原因" in f.columns)
    assert len(losses) > 0 and (losses["得分"] > 0).any()


def test_quality_page_opens_on_the_agencies_and_draws_only_that_tab(hand_built_pages):
    app = run_page("quality", "official")
    assert [tab.label for tab in app.tabs] == list(QUALITY_TABS.values())
    by_agency = next(f for f in frames(app) if "开放主体" in f.columns)
    assert set(by_agency["开放主体"]) == {"市交通委", "市卫健委"}
    assert {"完整性", "元数据", "开放格式"} <= set(by_agency.columns)     # the dimension breakdown
    assert len(app.get("plotly_chart")) == 1
    # The other tabs' tables are not drawn until opened.
    assert not any("失分项" in f.columns or "逾期天数" in f.columns for f in frames(app))


def test_quality_search_narrows_the_datasets_and_the_choice_of_causes(hand_built_pages):
    app = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["datasets"],
                                                 "quality_search": "医院"})
    by_dataset = next(f for f in frames(app) if "数据集编号" in f.columns)
    assert list(by_dataset["数据集编号"]) == ["d3"]
    chooser = app.selectbox(key="quality_dataset")
    assert chooser.value == "d3" and len(chooser.options) == 1
    assert any("原因" in f.columns for f in frames(app))
    # An agency user's search never reaches another agency's dataset.
    scoped = run_page("quality", "agency", state={"quality_tab": QUALITY_TABS["datasets"],
                                                  "quality_search": "d3"})
    assert "d3" in scoped.info[0].value and "quality_dataset" not in [box.key for box in scoped.selectbox]


def test_quality_overdue_and_trend_tabs(hand_built_pages):
    overdue = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["overdue"]})
    assert overdue.subheader[0].value == "逾期未更新的数据集"
    trend = run_page("quality", "official", state={"quality_tab": QUALITY_TABS["trend"]})
    assert len(trend.get("plotly_chart")) == 1
    assert not any("开放主体" in f.columns for f in frames(trend))
