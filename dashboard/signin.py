"""The sign-in page: local accounts, and OIDC through `st.login` when configured."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import auth, session
from odwatch.i18n import format_datetime, t
from warehouse import audit

USERNAME_KEY, PASSWORD_KEY, SUBMIT_KEY = "signin_username", "signin_password", "signin_submit"


def oidc_configured() -> bool:
    """OIDC is on when `.streamlit/secrets.toml` has an [auth] section (st.login's configuration)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all means no OIDC
        return False


def adopt_oidc_identity() -> None:
    """After st.login returns, map the identity to a provisioned account (or refuse it)."""
    if session.current_user() is not None or not oidc_configured() or not st.user.is_logged_in:
        return
    identity = str(st.user.get("email") or st.user.get("sub") or "")
    client = session.get_client()
    address = auth.address_key(session.client_address())
    user = auth.user_for_identity(client, identity)
    if user is None:
        auth.refuse_identity(client, identity, address)
        st.session_state["signin_error"] = t("signin.not_provisioned", identity=identity)
        st.logout()
        return
    auth.record_attempt(client, user.username, "ok", address, method="oidc")
    audit.record(client, user.username, "sign_in", "user", user.username,
                 {"method": "oidc", "address": address})
    session.sign_in(user)


def _wait_text(until) -> str:
    seconds = max(1, math.ceil((until - auth.now()).total_seconds()))
    if seconds < 120:
        return t("security.wait_seconds", n=seconds)
    return t("security.wait_minutes", n=math.ceil(seconds / 60))


def _submit() -> None:
    # A callback runs before the script, so before the shell applies the session's language.
    session.apply_language()
    username = st.session_state.get(USERNAME_KEY, "").strip()
    password = st.session_state.get(PASSWORD_KEY, "")
    st.session_state[PASSWORD_KEY] = ""
    if not username or not password:
        st.session_state["signin_error"] = t("signin.missing")
        return
    result = auth.authenticate(session.get_client(), username, password, session.client_address())
    if result.user is not None:
        st.session_state.pop("signin_error", None)
        session.sign_in(result.user)
        return
    if result.reason == "throttled":
        st.session_state["signin_error"] = t("signin.throttled", wait=_wait_text(result.retry_after),
                                             until=format_datetime(result.retry_after, seconds=True))
    elif result.reason == "disabled":
        st.session_state["signin_error"] = t("signin.disabled")
    else:
        st.session_state["signin_error"] = t("signin.invalid")


def sign_in_page() -> None:
    st.title(t("signin.title"))
    st.caption(t("signin.intro"))
    if oidc_configured():
        st.button(t("signin.oidc"), on_click=st.login, type="primary", key="signin_oidc")
        st.divider()
    with st.form("signin_form"):
        # So that password managers fill in a saved account (Streamlit's default for a password
        # field is "new-password", which they answer with a suggestion for a new one).
        st.text_input(t("signin.username"), key=USERNAME_KEY, autocomplete="username")
        st.text_input(t("signin.password"), type="password", key=PASSWORD_KEY,
                      autocomplete="current-password")
        st.form_submit_button(t("signin.submit"), on_click=_submit, type="primary", key=SUBMIT_KEY)
    if st.session_state.get("signin_error"):
        st.error(st.session_state["signin_error"])
