"""The dashboard: sign-in gate, language switch, and the pages the signed-in role may open.

Run by `odwatch serve` (which also starts the background jobs in this process).
Only pages registered for the session's role exist in `st.navigation`, so a
forbidden page cannot be reached by URL either.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, jobs, navigation, session
from dashboard.signin import adopt_oidc_identity, oidc_configured, sign_in_page
from odwatch.i18n import LANGUAGES, SESSION_KEY, t
from warehouse import EngineBusy, audit

LANGUAGE_NAMES = {"zh": "中文", "en": "English"}

# Every message of this run in the session's language (the buttons below change it before the run).
session.apply_language()

st.set_page_config(page_title=t("app.title"), page_icon=":material/visibility:", layout="wide")


def _choose_language(lang: str) -> None:
    st.session_state[SESSION_KEY] = lang


with st.sidebar:
    st.caption(t("app.language"))
    for column, lang in zip(st.columns(len(LANGUAGES)), LANGUAGES, strict=True):
        column.button(LANGUAGE_NAMES[lang], key=f"lang_{lang}", on_click=_choose_language, args=(lang,),
                      type="primary" if st.session_state[SESSION_KEY] == lang else "secondary")

try:
    # `odwatch serve` lets go of the data directory before it starts Streamlit, and chDB lets one
    # process at a time open it: a command run meanwhile can hold it when a session first needs it.
    session.get_client()
except EngineBusy:
    st.error(t("shell.engine_busy"))
    st.stop()

adopt_oidc_identity()
user = session.current_user()
if user is not None:
    # An account disabled (or given another role) by an administrator takes effect at the next click.
    account = auth.user_for_identity(session.get_client(), user.username)
    if account is None:
        session.sign_out()
    elif account != user:
        session.sign_in(account)
    user = account
specs = navigation.pages_for(user.role if user else None)
pages = [
    st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path,
            default=bool(user) and index == 0)
    for index, spec in enumerate(specs)
]
if user is None:
    pages.insert(0, st.Page(sign_in_page, title=t("nav.sign_in"), icon=":material/login:",
                            url_path=navigation.SIGN_IN_URL_PATH, default=True))

current = st.navigation(pages)

with st.sidebar:
    if user is not None:
        role = t(f"role.{user.role}")
        st.caption(t("app.signed_in_as", username=user.username, role=role))
        if st.button(t("app.sign_out"), key="sign_out"):
            audit.record(session.get_client(), user.username, "sign_out", "user", user.username)
            session.sign_out()
            if oidc_configured() and st.user.is_logged_in:
                st.logout()
            st.rerun()

try:
    current.run()
finally:
    # Started after the page is drawn (a no-op after the first run), so the first visitor's
    # page does not compete with the jobs' first runs (the spool, this year's evaluation).
    jobs.ensure_started(session.get_settings())
