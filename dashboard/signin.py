"""The sign-in page: local accounts, and OIDC through `st.login` when configured."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import streamlit as st
from streamlit.file_util import get_static_dir

from dashboard import auth, session
from odwatch.i18n import format_datetime, t
from warehouse import audit


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
    username = st.session_state.get("signin_username", "").strip()
    password = st.session_state.get("signin_password", "")
    st.session_state["signin_password"] = ""
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


# The browser code of the widgets on the pages after sign-in, by the name of its Streamlit bundle
# file: first the overview's, then those the other pages add. Streamlit loads a widget's code when
# one first appears: on a first visit, fetching it from this server and running it (Plotly's
# alone takes the browser about a second) would fall within the page, competing with its queries,
# and the page is not drawn until it has run.
FIRST_PAGE_CODE = ("Selectbox", "Radio", "DateInput", "Metric", "PlotlyChart", "DataFrame", "DownloadButton")
OTHER_PAGES_CODE = ("Multiselect", "TextArea", "NumberInput", "Checkbox", "Slider", "Json", "FileUploader")
PREFETCH = """<script>
(() => {
  const index = document.querySelector('script[src*="/static/js/index."]');
  if (!index) return;
  const load = names => Promise.all(names.map(name => import(new URL(name, index.src).href).catch(() => {})));
  // Once the form is drawn and the browser idle: the user is typing, the next page not yet asked for.
  const fetchAll = () => load(%s).then(() => load(%s));
  const whenIdle = () => (window.requestIdleCallback || (run => run()))(fetchAll, {timeout: 2000});
  setTimeout(whenIdle, 1000);
})();
</script>"""


@cache
def _prefetch_script() -> str:
    """The script that loads the pages' widget code while the user signs in; "" when this
    Streamlit's bundle has none of those files (then the widgets load as they appear)."""
    bundle = Path(get_static_dir()) / "static" / "js"
    first, later = ([path.name for stem in stems for path in sorted(bundle.glob(f"{stem}.*.js"))]
                    for stems in (FIRST_PAGE_CODE, OTHER_PAGES_CODE))
    return PREFETCH % (json.dumps(first), json.dumps(later)) if first or later else ""


def sign_in_page() -> None:
    st.title(t("signin.title"))
    st.caption(t("signin.intro"))
    if oidc_configured():
        st.button(t("signin.oidc"), on_click=st.login, type="primary", key="signin_oidc")
        st.divider()
    with st.form("signin_form"):
        st.text_input(t("signin.username"), key="signin_username")
        st.text_input(t("signin.password"), type="password", key="signin_password")
        st.form_submit_button(t("signin.submit"), on_click=_submit, type="primary")
    if st.session_state.get("signin_error"):
        st.error(st.session_state["signin_error"])
    if _prefetch_script():
        # Our own fixed script (no user input in it); st.html runs it only when allowed to.
        st.html(_prefetch_script(), unsafe_allow_javascript=True)
    _warm_charts()


WARM_CHARTS_AFTER_S = 5
WARM_CHARTS = "signin_charts_due"


@st.fragment(run_every=WARM_CHARTS_AFTER_S)
def _warm_charts() -> None:
    """Draw one small chart out of sight, once the form has been shown for a few seconds.

    A browser page's first Plotly chart sets Plotly up (0.6-0.9 s of the browser on this
    machine); drawn while the user types, the overview's charts after sign-in skip it. The
    fragment's first run, with the page, draws nothing, so the form is not held up; it stops
    with the sign-in page, whose fragments are not run again after sign-in.
    """
    if not st.session_state.get(WARM_CHARTS):
        st.session_state[WARM_CHARTS] = True
        return
    import plotly.graph_objects as go

    st.html("<style>.st-key-signin_charts{position:absolute;left:-10000px;width:320px}</style>")
    with st.container(key="signin_charts"):
        st.plotly_chart(go.Figure(go.Scatter(y=[1, 2])), key="signin_chart")
