"""Every analytics page on a freshly installed, empty platform: no exception, a plain message."""

from __future__ import annotations

import pytest
from conftest import database_in_environment, fresh_database
from page_apps import render

from dashboard.auth import User

ROLE_FOR = {"triage": "security"}


@pytest.fixture(scope="module")
def empty_platform():
    settings, _ = fresh_database("t_pages_empty")
    with database_in_environment(settings.clickhouse_database):
        yield


@pytest.mark.parametrize("page", ["overview", "usage", "quality", "evaluation", "triage", "violations",
                                  "applications", "complaints"])
def test_page_renders_on_an_empty_platform(empty_platform, page):
    app = render(page, User("olivia", ROLE_FOR.get(page, "official")))
    assert app.title and not app.error
    assert app.info                                  # "no rows" / "nothing to evaluate" says so plainly


def test_violations_page_says_there_are_none_rather_than_drawing_empty_bars(empty_platform):
    app = render("violations", User("olivia", "official"))
    assert "所选范围内没有数据。" in [box.value for box in app.info]
    assert not app.get("plotly_chart")
