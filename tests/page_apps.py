"""AppTests of the dashboard: the shell itself (streamlit_app.py), or one page run as the shell runs it
(the session's language applied first, then the page file), as a user or a visitor."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import auth
from dashboard.auth import User
from dashboard.session import USER_KEY

ROOT = Path(__file__).resolve().parent.parent
SHELL = ROOT / "streamlit_app.py"
PAGES = ROOT / "dashboard" / "pages"


def _page_script(page_file: str) -> None:
    import runpy

    from dashboard import session

    session.apply_language()
    runpy.run_path(page_file, run_name="__main__")


def page_app(page: str, timeout: float = 90) -> AppTest:
    """An AppTest of `dashboard/pages/<page>.py`; set session state, then `.run()` it."""
    return AppTest.from_function(_page_script, args=(str(PAGES / f"{page}.py"),), default_timeout=timeout)


def shell_app() -> AppTest:
    """The whole dashboard as `odwatch serve` runs it: sign-in, language switch, the role's pages."""
    return AppTest.from_file(str(SHELL), default_timeout=90)


def as_user(app: AppTest, user: User, client=None, password: str = "correct horse battery") -> AppTest:
    """Act as a signed-in user. Through the shell the account must exist: pass the client to add it."""
    if client is not None:
        auth.add_user(client, user.username, user.role, password, user.agency_id)
    app.session_state[USER_KEY] = user
    return app


def two_agencies(client) -> None:
    """The reference data the shell's tests show: 市交通委 (A01) with 公交线路 (D1), 市卫健委 (A02) with
    医院名录 (D2)."""
    client.insert("agencies", [["A01", "市交通委", "Transport Commission", "city_bureau"],
                               ["A02", "市卫健委", "Health Commission", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["D1", "A01", "公交线路", "交通"], ["D2", "A02", "医院名录", "卫生"]],
                  column_names=["dataset_id", "agency_id", "name", "domain"])


def render(page: str, user: User | None = None, *, lang: str | None = None, state: dict | None = None,
           timeout: float = 90) -> AppTest:
    """The page run once as `user` (a visitor when None), in `lang` (the configured language when None),
    with `state` set first; an exception on the page fails the test."""
    app = page_app(page, timeout)
    if user is not None:
        app.session_state[USER_KEY] = user
    if lang is not None:
        app.session_state["lang"] = lang
    for key, value in (state or {}).items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def frames(app: AppTest) -> list:
    """The tables the page drew, as pandas frames."""
    return [frame.value for frame in app.dataframe]


def frame_with(app: AppTest, column: str):
    """The first table the page drew with `column`."""
    return next(frame for frame in frames(app) if column in frame.columns)
