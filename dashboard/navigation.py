"""The page registry: which file, which roles, which title, which URL.

A page is registered with `st.navigation` only for the roles listed here, so a
page a role may not see does not exist for that session, by URL or by menu.
Pages whose file is missing (a page still being written) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from odwatch.vocabulary import ROLES

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = Path(__file__).resolve().parent / "pages"

PUBLIC = "public"  # the pseudo-role of a visitor who has not signed in
SIGN_IN_URL_PATH = "sign-in"   # the sign-in page, a visitor's default page (streamlit_app.py)


@dataclass(frozen=True)
class PageSpec:
    key: str
    roles: tuple[str, ...]
    icon: str

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.key}.py"

    @property
    def title_key(self) -> str:
        return f"nav.{self.key}"

    @property
    def url_path(self) -> str:
        return self.key.replace("_", "-")

    def exists(self) -> bool:
        return self.path.is_file()


ALL_SIGNED_IN = ROLES
PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", ALL_SIGNED_IN, ":material/dashboard:"),
    PageSpec("usage", ALL_SIGNED_IN, ":material/monitoring:"),
    PageSpec("quality", ("official", "agency", "admin"), ":material/fact_check:"),
    PageSpec("evaluation", ("official", "agency", "admin"), ":material/leaderboard:"),
    PageSpec("triage", ("security", "admin"), ":material/policy_alert:"),
    PageSpec("violations", ("official", "security", "agency", "admin"), ":material/gavel:"),
    PageSpec("applications", ALL_SIGNED_IN, ":material/handshake:"),
    PageSpec("complaints", ALL_SIGNED_IN, ":material/report:"),
    PageSpec("admin", ("admin",), ":material/settings:"),
    PageSpec("public_notice", (*ROLES, PUBLIC), ":material/campaign:"),
)


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages a role may open, in menu order; `None` is a visitor who has not signed in."""
    role = role or PUBLIC
    return [page for page in PAGES if role in page.roles and page.exists()]


def page_keys_for(role: str | None) -> list[str]:
    return [page.key for page in pages_for(role)]
