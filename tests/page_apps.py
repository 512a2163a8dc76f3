"""AppTest of one dashboard page, run as the shell runs it (streamlit_app.py): the session's
language applied first, then the page file."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parent.parent / "dashboard" / "pages"


def _page_script(page_file: str) -> None:
    import runpy

    from dashboard import session

    session.apply_language()
    runpy.run_path(page_file, run_name="__main__")


def page_app(page: str, timeout: float = 90) -> AppTest:
    """An AppTest of `dashboard/pages/<page>.py`; set session state, then `.run()` it."""
    return AppTest.from_function(_page_script, args=(str(PAGES / f"{page}.py"),), default_timeout=timeout)
