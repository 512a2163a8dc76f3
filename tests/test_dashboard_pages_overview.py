"""The overview page (dashboard/pages/overview.py) for each role, on the hand-built platform
(tests/pages_platform.py): open datasets, open alerts by severity, traffic, the most used datasets."""

from __future__ import annotations

import pytest
from page_apps import frames
from pages_platform import run_page


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_overview_page(hand_built_pages, role):
    app = run_page("overview", role)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["开放数据集"] == ("2" if role == "agency" else "3")
    # Open alerts: the agency sees only those on its own datasets (d1, d2).
    expected_alerts = {"agency": 2}.get(role)
    if expected_alerts is not None:
        assert metrics["未处理告警"] == str(expected_alerts)
    # One open alert of each severity; the agency's datasets (d1, d2) have the high and the medium.
    by_severity = {s: metrics[f"未处理告警 · {s}"] for s in ("严重", "高", "中", "低")}
    assert by_severity == ({"严重": "0", "高": "1", "中": "1", "低": "0"} if role == "agency"
                           else {"严重": "1", "高": "1", "中": "1", "低": "1"})
    assert int(metrics["区间接口调用"].replace(",", "")) > 0
    top = next(f for f in frames(app) if "数据集编号" in f.columns)
    assert set(top["数据集编号"]) <= ({"d1", "d2"} if role == "agency" else {"d1", "d2", "d3"})
    assert len(top) > 0
    assert set(top["开放类型"]) <= {"无条件开放", "有条件开放", "非开放"}      # labels, not stored codes


def test_overview_page_in_english(hand_built_pages):
    app = run_page("overview", "official", lang="en")
    assert app.title[0].value == "Overview"
    assert "Open datasets" in {m.label for m in app.metric}
