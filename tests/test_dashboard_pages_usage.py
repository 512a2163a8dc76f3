"""The usage page (dashboard/pages/usage.py) for each role, on the hand-built platform
(tests/pages_platform.py): the figures, the drill-down agency → dataset → consumer, and the sections
loaded only when shown."""

from __future__ import annotations

import pytest
from page_apps import frames
from pages_platform import run_page


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_usage_page(hand_built_pages, role):
    app = run_page("usage", role)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["调用次数"] == "40"                    # every event of the hand-built log is in range
    assert metrics["下载"] == "8"
    assert metrics["利用主体数"] == "1"                   # c1; the other calls are anonymous
    has_agency_level = any("开放主体编号" in f.columns and "数据集编号" not in f.columns
                           for f in frames(app))
    assert has_agency_level is (role != "agency")       # an agency user starts at its own datasets
    if role != "agency":                                # the platform's roles open one agency first
        assert not any("领域" in f.columns for f in frames(app))
        app.selectbox(key="usage_drill_agency").set_value("a1").run()
    datasets = next(f for f in frames(app) if "数据集编号" in f.columns and "领域" in f.columns)
    assert set(datasets["数据集编号"]) == {"d1", "d2"}
    offers_draft = any(s.key == "usage_draft_consumer" for s in app.selectbox)
    assert offers_draft is (role != "agency")


def test_usage_drill_down_narrows_each_level(hand_built_pages):
    app = run_page("usage", "official")
    app.selectbox(key="usage_drill_agency").set_value("a1").run()
    app.selectbox(key="usage_drill_dataset").set_value("d2").run()
    assert not app.exception
    consumers = next(f for f in frames(app) if "利用主体编号" in f.columns and "主体类型" in f.columns)
    # d2 gets the even-numbered events: 7 of the 20 are anonymous (every third event), 13 are c1.
    assert dict(zip(consumers["利用主体编号"], consumers["调用次数"], strict=True)) == {"c1": 13, "": 7}


def test_usage_sections_load_their_own_tables(hand_built_pages):
    app = run_page("usage", "official")
    assert not any("响应时间 P95（毫秒）" in f.columns for f in frames(app))     # not loaded until shown
    app.radio(key="usage_section").set_value("operation").run()
    operation = next(f for f in frames(app) if "响应时间 P95（毫秒）" in f.columns)
    assert len(operation) == 30 and operation["调用次数"].sum() == 40
    app.radio(key="usage_section").set_value("fields").run()
    fields = next(f for f in frames(app) if "字段" in f.columns)
    assert list(fields["字段"]) == ["*"] and fields["调用次数"].sum() == 40
    app.radio(key="usage_section").set_value("mix").run()
    assert not app.exception
    assert any("应用场景" in f.columns for f in frames(app))
