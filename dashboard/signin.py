"""The sign-in page: local accounts, and OIDC through `st.login` when configured."""

from __future__ import annotations

import math

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard import auth, session
from dashboard.signin_shell import PASSWORD_KEY, SUBMIT_KEY, USERNAME_KEY, oidc_configured
from odwatch.i18n import format_datetime, t
from warehouse import audit


def adopt_oidc_identity() -> None:
    """After st.login returns, map the identity to a provisioned account (or refuse it)."""
    if session.current_user() is not None or not oidc_configured() or not st.user.is_logged_in:
        return
    identity = str(st.user.get("email") or st.user.get("sub") or "")
    client = session.get_client()
    user = auth.user_for_identity(client, identity)
    if user is None:
        audit.record(client, identity, "sign_in_refused", "user", identity, {"method": "oidc",
                                                                             "reason": "not provisioned"})
        st.session_state["signin_error"] = t("signin.not_provisioned", identity=identity)
        st.logout()
        return
    auth.record_attempt(client, user.username, True, method="oidc")
    audit.record(client, user.username, "sign_in", "user", user.username, {"method": "oidc"})
    session.sign_in(user)


def _submit() -> None:
    username = st.session_state.get(USERNAME_KEY, "").strip()
    password = st.session_state.get(PASSWORD_KEY, "")
    st.session_state[PASSWORD_KEY] = ""
    if not username or not password:
        st.session_state["signin_error"] = t("signin.missing")
        return
    result = auth.authenticate(session.get_client(), username, password)
    if result.user is not None:
        st.session_state.pop("signin_error", None)
        session.sign_in(result.user)
        return
    if result.reason == "locked":
        minutes = max(1, math.ceil((result.retry_after - auth.now()).total_seconds() / 60))
        st.session_state["signin_error"] = t("signin.locked", minutes=minutes,
                                             until=format_datetime(result.retry_after))
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
    # The warm-up's style comes with the form, so it is in force before the widgets it hides arrive.
    st.markdown(HIDDEN, unsafe_allow_html=True)
    _warm_widgets()


WARM_AFTER_S = 3
WARM_DONE = "signin_warm_up_done"
# Out of sight and out of the accessibility tree, but laid out, so that each widget's code runs.
# A markdown style, not st.html, whose code would be one more kind for the sign-in page to load.
HIDDEN = "<style>.st-key-signin_warm{position:absolute;left:-10000px;width:320px;visibility:hidden}</style>"


def _timed_run() -> bool:
    """True in a run of the fragment alone (its timer), False in a run of the whole page."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return bool(ctx and ctx.fragment_ids_this_run)


@st.fragment(run_every=WARM_AFTER_S)
def _warm_widgets() -> None:
    """At the fragment's first timed run, a few seconds after the form, draw one of each kind of
    widget the pages after sign-in use, out of sight, once.

    Streamlit's browser code loads a kind of widget the first time one is drawn, showing a
    skeleton meanwhile, and React then holds the page back until 500 ms after the last skeleton
    appeared; the first chart also sets Plotly up (0.6-0.9 s of this machine's browser). The
    overview, drawn right after sign-in, paid all of it. Drawn while the user types, the code is
    loaded and ready for every page. Runs of the whole page (the form's first drawing, a failed
    sign-in, a language switch) draw nothing, so they are not held up; after the warm-up the
    timer's runs (one small round trip every few seconds while the page is open) draw nothing
    either, and they stop with the sign-in page. Not the file uploader: no upload target for a
    visitor who has not signed in.
    """
    if st.session_state.get(WARM_DONE) or not _timed_run():
        return
    st.session_state[WARM_DONE] = True
    import plotly.graph_objects as go

    with st.container(key="signin_warm"):
        st.metric("·", 1)
        st.plotly_chart(go.Figure(go.Scatter(y=[1, 2])), key="signin_warm_chart")
        st.dataframe({"·": [1]})
        st.json({})
        st.button("·", key="signin_warm_button")
        st.download_button("·", data=b"", key="signin_warm_download")
        hidden = {"label": "·", "label_visibility": "collapsed"}
        st.selectbox(options=["·"], key="signin_warm_selectbox", **hidden)
        st.multiselect(options=["·"], key="signin_warm_multiselect", **hidden)
        st.radio(options=["·"], key="signin_warm_radio", **hidden)
        st.date_input(key="signin_warm_date", **hidden)
        st.number_input(key="signin_warm_number", **hidden)
        st.slider(key="signin_warm_slider", **hidden)
        st.toggle(key="signin_warm_toggle", **hidden)
        st.text_area(key="signin_warm_text", **hidden)
