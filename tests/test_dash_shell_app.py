"""The dashboard shell through Streamlit's AppTest, on the real embedded engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth
from dashboard.auth import User
from dashboard.session import USER_KEY
from odwatch.settings import get_settings

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
PASSWORD = "correct horse battery"


@pytest.fixture
def app_client(settings, client, monkeypatch):
    """Point the app (which reads settings from the environment) at this test's database."""
    monkeypatch.setenv("ODWATCH_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    get_settings.cache_clear()
    client.insert("agencies", [["A01", "市交通委", "Transport Commission", "city_bureau"],
                               ["A02", "市卫健委", "Health Commission", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    yield client
    get_settings.cache_clear()


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button[0].click()
    return at.run()


def test_wrong_password_is_refused(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(new_app().run(), "alice", "not the password")
    assert not at.exception
    assert USER_KEY not in at.session_state
    assert [e.value for e in at.error] == ["用户名或密码错误。"]


def test_right_password_signs_in_and_is_audited(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(new_app().run(), "alice", PASSWORD)
    assert at.session_state[USER_KEY] == User("alice", "official", "")
    actions = app_client.query("SELECT action FROM audit_log WHERE actor = 'alice' ORDER BY seq").result_rows
    assert ("sign_in",) in actions
