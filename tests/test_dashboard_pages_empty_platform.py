"""Every analytics page on a freshly installed, empty platform: no exception, a plain message."""

from __future__ import annotations

import os
import uuid

import pytest
from page_apps import page_app

from dashboard.auth import User
from dashboard.session import USER_KEY
from odwatch.settings import Settings, get_settings
from warehouse import connect

ROLE_FOR = {"triage": "security"}


@pytest.fixture(scope="module")
def empty_platform():
    settings = Settings(clickhouse_database=f"t_pages_empty_{uuid.uuid4().hex[:8]}")
    connect(settings)
    previous = os.environ.get("ODWATCH_CLICKHOUSE_DATABASE")
    os.environ["ODWATCH_CLICKHOUSE_DATABASE"] = settings.clickhouse_database
    get_settings.cache_clear()
    yield
    if previous is None:
        os.environ.pop("ODWATCH_CLICKHOUSE_DATABASE", None)
    else:
        os.environ["ODWATCH_CLICKHOUSE_DATABASE"] = previous
    get_settings.cache_clear()


@pytest.mark.parametrize("page", ["overview", "usage", "quality", "evaluation", "triage", "violations",
                                  "applications", "complaints"])
def test_page_renders_on_an_empty_platform(empty_platform, page):
    app = page_app(page, timeout=90)
    app.session_state[USER_KEY] = User("olivia", ROLE_FOR.get(page, "official"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title and not app.error
    assert app.info                                  # "no rows" / "nothing to evaluate" says so plainly


def test_violations_page_says_there_are_none_rather_than_drawing_empty_bars(empty_platform):
    app = page_app("violations", timeout=90)
    app.session_state[USER_KEY] = User("olivia", "official")
    app.run()
    assert "所选范围内没有数据。" in [box.value for box in app.info]
    assert not app.get("plotly_chart")
