"""Signing in (dashboard/signin.py) through the shell, as a person does it: the form a password manager
fills in, a wrong and a right password (audited), failures that slow the next attempt even after a
reload, the refusal in the session's language; and the client address read behind a trusted proxy.

The throttling policy itself: test_dashboard_auth.py.
"""

from __future__ import annotations

from page_apps import shell_app
from streamlit.testing.v1 import AppTest

from dashboard import auth
from dashboard.auth import User
from dashboard.session import USER_KEY
from dashboard.signin import PASSWORD_KEY, SUBMIT_KEY, USERNAME_KEY
from odwatch.settings import get_settings

PASSWORD = "correct horse battery"


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key=USERNAME_KEY).input(username)
    at.text_input(key=PASSWORD_KEY).input(password)
    at.button(key=SUBMIT_KEY).click()
    return at.run()


def test_the_sign_in_form_hides_the_password_and_offers_saved_accounts(app_client):
    at = shell_app().run()
    username, password = at.text_input(key=USERNAME_KEY), at.text_input(key=PASSWORD_KEY)
    assert username.label == "用户名" and password.label == "密码"
    assert password.proto.type == password.proto.PASSWORD
    # What password managers look for to fill in a saved account rather than suggest a new one.
    assert (username.proto.autocomplete, password.proto.autocomplete) == ("username", "current-password")
    assert at.button(key=SUBMIT_KEY).proto.is_form_submitter


def test_wrong_password_is_refused(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(shell_app().run(), "alice", "not the password")
    assert not at.exception
    assert USER_KEY not in at.session_state
    assert [e.value for e in at.error] == ["用户名或密码错误。"]


def test_right_password_signs_in_and_is_audited(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = sign_in(shell_app().run(), "alice", PASSWORD)
    assert at.session_state[USER_KEY] == User("alice", "official", "")
    actions = app_client.query("SELECT action FROM audit_log WHERE actor = 'alice' ORDER BY seq").result_rows
    assert ("sign_in",) in actions


def test_repeated_failures_slow_the_next_attempt_even_after_a_reload(app_client, monkeypatch):
    monkeypatch.setenv("ODWATCH_SIGNIN_FREE_FAILURES", "2")
    monkeypatch.setenv("ODWATCH_SIGNIN_FIRST_DELAY_S", "600")
    get_settings.cache_clear()
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = shell_app().run()
    for _ in range(2):
        at = sign_in(at, "alice", "wrong password")
    at = sign_in(at, "alice", PASSWORD)          # right password, but it must wait now
    assert USER_KEY not in at.session_state
    assert at.error[0].value.startswith("登录失败次数过多，请在 10 分钟后")
    reloaded = sign_in(shell_app().run(), "alice", PASSWORD)   # a new session: the count is stored
    assert USER_KEY not in reloaded.session_state
    assert "登录失败次数过多" in reloaded.error[0].value


def test_a_failed_sign_in_is_told_in_the_sessions_language(app_client):
    auth.add_user(app_client, "alice", "official", PASSWORD)
    at = shell_app().run()
    at.button(key="lang_en").click().run()
    at = sign_in(at, "alice", "wrong password")   # the sign-in callback runs before the shell's script
    assert at.error[0].value == "Wrong username or password."
