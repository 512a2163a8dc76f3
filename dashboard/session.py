"""What every page needs from the shell: the signed-in user, the client, the shared filters, masking.

The filters live in `st.session_state` under plain keys (not only widget keys),
because Streamlit drops a widget's state on any run that does not draw it; so a
filter chosen on one page is still in force on the next page, even one that
shows fewer filters. An `agency` user's filters always carry their own
agency_id: `current_filters()` forces it, whatever the widgets say.

Tests drive the app with AppTest in the test process: point
`ODWATCH_CLICKHOUSE_DATABASE` at the test database and clear
`odwatch.settings.get_settings`'s cache, and set `st.session_state[USER_KEY]`
to a `User` to act as a signed-in user.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import date, timedelta
from functools import partial
from typing import Any

import streamlit as st
from clickhouse_connect.driver.client import Client

from dashboard import choices
from dashboard.auth import UNKNOWN, User
from odwatch import clock
from odwatch.i18n import SESSION_KEY, configured_language, current_language, set_language, t
from odwatch.settings import get_settings
from odwatch.vocabulary import CHANNELS, CONSUMER_KINDS
from reports.filters import ReportFilters
from warehouse import connect
from warehouse.client import data_version, dsn_for

__all__ = ["User", "current_user", "current_filters", "filter_sidebar", "require_role", "mask_ip",
           "mask_name", "get_client", "get_settings", "today"]

USER_KEY = "odwatch_user"
FILTERS_KEY = "odwatch_filters"
CLIENT_KEY = "odwatch_client"
DEFAULT_DAYS = 30
ALL_FILTERS = ("dates", "agency", "domain", "dataset", "consumer_kind", "channel")
RADIO_FILTERS = ("consumer_kind", "channel")
FULL_IP_ROLES = ("security", "admin")
MASKED_NAME_ROLES = ("agency",)
CONTACT_ROLES = ("security", "admin")          # see a reporter's contact in full


def get_client() -> Client:
    """The warehouse client of this browser session, for code that runs in a script run.

    Streamlit starts each script run on a new thread and `connect()` keeps a client per
    thread, so every click would open a client (and query the engine's settings) again. A
    session runs one script at a time, so its runs share the client kept in its state.
    Under Streamlit, code that runs outside a script run (a download produced on click, a job)
    has no session state of its own: it calls `warehouse.connect` itself. Without Streamlit's
    runtime (a script, a test) this is the thread's client.
    """
    if not st.runtime.exists():
        return connect(get_settings())
    key = _cache_key()
    kept = st.session_state.get(CLIENT_KEY)
    if kept is None or kept[0] != key:
        kept = (key, connect(get_settings()))
        st.session_state[CLIENT_KEY] = kept
    return kept[1]


def apply_language() -> None:
    """At the start of every script run: the message catalog speaks this session's language."""
    if SESSION_KEY not in st.session_state:
        st.session_state[SESSION_KEY] = configured_language()
    set_language(st.session_state[SESSION_KEY])


def current_data_version() -> tuple:
    """Changes whenever the warehouse does: the key under which a page keeps its figures."""
    return data_version(get_client())


def today() -> date:
    return clock.today()


def current_user() -> User | None:
    """The signed-in user, or None for a visitor (only the public notice page allows that)."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else None


def sign_in(user: User) -> None:
    st.session_state[USER_KEY] = user
    st.session_state.pop(FILTERS_KEY, None)


def sign_out() -> None:
    st.session_state.pop(USER_KEY, None)
    st.session_state.pop(FILTERS_KEY, None)


def require_role(*roles: str) -> User:
    """Stop the page with a refusal unless the signed-in user has one of `roles`."""
    user = current_user()
    if user is None or user.role not in roles:
        st.error(t("shell.forbidden"))
        st.stop()
    return user


# ---- masking ---------------------------------------------------------------

def _viewer_role() -> str:
    user = current_user()
    return user.role if user else ""


def mask_ip(ip: str, role: str | None = None) -> str:
    """Full address for security staff and administrators; the network part only for others."""
    if not ip or (role or _viewer_role()) in FULL_IP_ROLES:
        return ip
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "***"
    if address.version == 4:
        a, b, _, _ = ip.split(".")
        return f"{a}.{b}.*.*"
    return f"{ipaddress.ip_network(f'{ip}/48', strict=False).network_address}*"


def mask_name(name: str, kind: str | None = None, role: str | None = None) -> str:
    """A person's name with all but its first character hidden, for roles that don't need it.

    Names of companies and organisations are public (they appear in the 公示 too),
    so only a `kind` of None or "person" is masked.
    """
    if not name or (role or _viewer_role()) not in MASKED_NAME_ROLES or kind not in (None, "person"):
        return name
    return name[0] + "*" * min(len(name) - 1, 3) if len(name) > 1 else "*"


# ---- the shared filters -----------------------------------------------------

def _store() -> dict[str, Any]:
    if FILTERS_KEY not in st.session_state:
        st.session_state[FILTERS_KEY] = {}
    return st.session_state[FILTERS_KEY]


def _default_dates() -> tuple[date, date]:
    end = today()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _scope() -> str:
    user = current_user()
    return user.agency_id if user and user.role == "agency" else ""


def current_filters() -> ReportFilters:
    """The filters in force for this session; an agency user is always scoped to their agency."""
    store = _store()
    dates = tuple(store.get("dates") or _default_dates())
    date_from, date_to = (dates[0], dates[-1]) if dates else _default_dates()
    filters = ReportFilters(
        date_from=date_from,
        date_to=date_to,
        agency_id=store.get("agency") or None,
        domain=store.get("domain") or None,
        dataset_id=store.get("dataset") or None,
        consumer_kind=store.get("consumer_kind") or None,
        channel=store.get("channel") or None,
    )
    scope = _scope()
    return filters.scoped_to(scope) if scope else filters


def _cache_key() -> str:
    current = get_settings()
    return f"{dsn_for(current)}|{current.clickhouse_database}"


def _widget(name: str) -> str:
    return f"flt_{name}"


def _keep(name: str) -> None:
    _store()[name] = st.session_state[_widget(name)]


def _select(name: str, options: list, labels: dict, disabled: bool = False) -> None:
    """A choice kept in the filter store; "" means "all".

    Not None: a select box whose state is None shows an empty placeholder, not the "all" option.
    Short lists are radio buttons: the browser redraws every select box on each update of the
    page, at a cost that grows with their number and their options.
    """
    store = _store()
    if store.get(name) not in options:
        store[name] = ""
    st.session_state[_widget(name)] = store[name]
    draw = (partial(st.sidebar.radio, horizontal=True) if name in RADIO_FILTERS else st.sidebar.selectbox)
    draw(
        t(f"filter.{name}"), ["", *options], key=_widget(name), disabled=disabled,
        format_func=lambda value: t("filter.all") if value == "" else labels.get(value, str(value)),
        on_change=_keep, args=(name,),
    )


def filter_sidebar(show: tuple[str, ...] = ALL_FILTERS) -> ReportFilters:
    """Draw the chosen filters in the sidebar and return the filters in force."""
    store = _store()
    client = get_client()
    scope = _scope()
    english = current_language() == "en"
    st.sidebar.subheader(t("filter.heading"))
    if "dates" in show:
        st.session_state[_widget("dates")] = tuple(store.get("dates") or _default_dates())
        st.sidebar.date_input(t("filter.dates"), key=_widget("dates"), on_change=_keep, args=("dates",),
                              max_value=today() + timedelta(days=1))
    if "agency" in show:
        rows = choices.agencies(client)
        labels = {r["agency_id"]: (r["name_en"] or r["name"]) if english else r["name"] for r in rows}
        if scope:
            store["agency"] = scope
        _select("agency", [r["agency_id"] for r in rows if not scope or r["agency_id"] == scope], labels,
                disabled=bool(scope))
    agency = scope or store.get("agency") or ""
    if "domain" in show:
        domains = choices.domains(client, agency)
        _select("domain", domains, {d: d for d in domains})
    if "dataset" in show:
        # The datasets of an agency or a domain (tens to a few hundred), not the whole catalog: the
        # browser redraws every option of a select box on each update of the page.
        domain = store.get("domain") or ""
        rows = choices.datasets(client, agency, domain) if agency or domain else []
        _select("dataset", [r["dataset_id"] for r in rows], {r["dataset_id"]: r["name"] for r in rows},
                disabled=not rows)
    if "consumer_kind" in show:
        _select("consumer_kind", list(CONSUMER_KINDS), {k: t(f"consumer_kind.{k}") for k in CONSUMER_KINDS})
    if "channel" in show:
        _select("channel", list(CHANNELS), {c: t(f"channel.{c}") for c in CHANNELS})
    return current_filters()


def address_from(trusted_header: str, headers: Mapping[str, str], connection_ip: str | None) -> str | None:
    """The address a browser's sign-ins and signed-out downloads are counted by.

    Behind a reverse proxy (`trusted_header` set) the header the proxy sets, its last entry (the
    one the proxy itself added); a request without it did not come through the proxy and is
    counted as `unknown`. Otherwise the connection's own address (None on localhost).
    """
    if not trusted_header:
        return connection_ip
    value = headers.get(trusted_header) or ""
    return value.split(",")[-1].strip() or UNKNOWN


def client_address() -> str | None:
    """The address of the browser this session runs for (see `address_from`)."""
    return address_from(get_settings().signin_trusted_header, st.context.headers,
                        st.context.ip_address)
