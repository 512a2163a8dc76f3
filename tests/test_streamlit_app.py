"""The dashboard's shell (streamlit_app.py) through Streamlit's AppTest, on the real embedded engine: the
language switch, a session told plainly that another process holds the engine, sign-out, and an
account disabled while its session is open.

The app reads its settings from the environment, so each test points ODWATCH_CLICKHOUSE_DATABASE at its
own database (the app_client fixture). Signing in: test_dashboard_signin.py; the pages a role is given:
test_dashboard_navigation.py.
"""

from __future__ import annotations

import json

from odwatch_processes import run_python
from page_apps import ROOT, SHELL, as_user, shell_app

from dashboard import auth
from dashboard.auth import User
from dashboard.session import USER_KEY
from dashboard.signin import USERNAME_KEY
from odwatch.i18n import catalog


def test_language_switch_changes_labels(app_client):
    at = shell_app().run()
    assert at.title[0].value == "登录"
    assert at.text_input(key=USERNAME_KEY).label == "用户名"
    assert at.button(key="lang_zh").proto.type == "primary"
    at.button(key="lang_en").click().run()
    assert at.title[0].value == "Sign in"
    assert at.text_input(key=USERNAME_KEY).label == "Username"
    assert at.button(key="lang_en").proto.type == "primary"
    at.button(key="lang_zh").click().run()
    assert at.title[0].value == "登录"


# The app in a process of its own (chDB: one data directory per process), printing what it shows.
SHOWN_IN_ANOTHER_PROCESS = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=90).run()
print(json.dumps({"errors": [e.value for e in at.error], "exceptions": len(at.exception),
                  "titles": [t.value for t in at.title]}))
"""


def test_a_session_opened_while_another_process_holds_the_engine_is_told_so_plainly(client, settings):
    """This test's process holds the data directory (the client fixture opened it)."""
    done = run_python(ROOT, SHOWN_IN_ANOTHER_PROCESS, str(SHELL), data_dir=settings.data_dir,
                      ODWATCH_CLICKHOUSE_DATABASE=settings.clickhouse_database)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown == {"errors": [catalog("zh")["shell.engine_busy"]], "exceptions": 0, "titles": []}


def test_sign_out_is_audited_and_returns_to_sign_in(app_client):
    at = as_user(shell_app(), User("olivia", "official"), app_client).run()
    at.button(key="sign_out").click().run()
    assert USER_KEY not in at.session_state
    assert at.title[0].value == "登录"
    signed_out = app_client.query("SELECT actor FROM audit_log WHERE action = 'sign_out'").result_rows
    assert signed_out == [("olivia",)]


def test_disabling_an_account_ends_its_open_session(app_client):
    at = as_user(shell_app(), User("olivia", "official"), app_client).run()
    assert at.session_state[USER_KEY] == User("olivia", "official", "")
    auth.disable_user(app_client, "olivia", actor="adam")
    at.run()
    assert USER_KEY not in at.session_state
    assert at.title[0].value == "登录"
