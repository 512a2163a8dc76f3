"""The pages each role is given (dashboard/navigation.py): exactly its pages, each page file there, and
in a session of the shell only those registered, so a forbidden page cannot be reached by URL either.
"""

from __future__ import annotations

import pytest
from page_apps import as_user, shell_app

from dashboard import navigation
from dashboard.auth import User
from odwatch import vocabulary

EXPECTED_PAGES = {
    None: ["public_notice"],
    "official": ["overview", "usage", "quality", "evaluation", "violations", "applications", "complaints",
                 "public_notice"],
    "security": ["overview", "usage", "triage", "violations", "applications", "complaints", "public_notice"],
    "agency": ["overview", "usage", "quality", "evaluation", "violations", "applications", "complaints",
               "public_notice"],
    "admin": ["overview", "usage", "quality", "evaluation", "triage", "violations", "applications",
              "complaints", "admin", "public_notice"],
}


@pytest.mark.parametrize("role", [None, *vocabulary.ROLES])
def test_each_role_is_given_exactly_its_pages(role):
    existing = {spec.key for spec in navigation.PAGES if spec.exists()}
    assert navigation.page_keys_for(role) == [k for k in EXPECTED_PAGES[role] if k in existing]


def test_every_registered_page_file_exists():
    assert [spec.key for spec in navigation.PAGES if not spec.exists()] == []


@pytest.mark.parametrize("role", vocabulary.ROLES)
def test_forbidden_pages_are_not_registered_for_the_session(app_client, role):
    at = as_user(shell_app(), User("uma", role, "A01" if role == "agency" else ""), app_client).run()
    for spec in navigation.PAGES:
        page = f"dashboard/pages/{spec.key}.py"
        if spec.key in EXPECTED_PAGES[role]:
            if spec.exists():
                at.switch_page(page)
        else:
            with pytest.raises(ValueError):
                at.switch_page(page)


def test_visitor_reaches_only_sign_in_and_public_notice(app_client):
    at = shell_app().run()
    at.switch_page("dashboard/pages/public_notice.py").run()
    assert not at.exception
    assert at.title[0].value == "违规行为公示"
    with pytest.raises(ValueError):
        at.switch_page("dashboard/pages/overview.py")
