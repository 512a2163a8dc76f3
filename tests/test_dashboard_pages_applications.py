"""The applications page (dashboard/pages/applications.py) for each role that may open it, on the
hand-built platform (tests/pages_platform.py): overdue reviews, expiring agreements, overdue reports."""

from __future__ import annotations

import pytest
from page_apps import frames
from pages_platform import run_page


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_applications_page(hand_built_pages, role):
    app = run_page("applications", role)
    assert app.title[0].value == "申请与协议"
    ids = {value for frame in frames(app) for column in frame.columns for value in frame[column].astype(str)}
    assert {"p1", "g1", "r1"} <= ids      # overdue review, agreement expiring, report overdue (all a1)
    # The review SLA lists each agency; an agency user sees only its own (scoped in the query).
    assert "市交通委" in ids
    assert ("市卫健委" in ids) is (role != "agency")
