"""The complaints page (dashboard/pages/complaints.py) for each role that may open it, on the hand-built
platform (tests/pages_platform.py): the open and received complaints, an agency's own only."""

from __future__ import annotations

import pytest
from pages_platform import run_page


@pytest.mark.parametrize("role", ["official", "security", "agency", "admin"])
def test_complaints_page(hand_built_pages, role):
    app = run_page("complaints", role, lang="en")
    assert app.title[0].value == "Complaints"
    open_metric = next(m for m in app.metric if m.label == "Open")
    assert open_metric.value == "1"
    received = next(m for m in app.metric if m.label == "Complaints received")
    assert received.value == ("1" if role == "agency" else "2")
