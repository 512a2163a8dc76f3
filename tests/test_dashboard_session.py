"""The session's helpers (dashboard/session.py): one client kept across a session's runs, the sidebar
filters (an agency user scoped whatever the state says, kept across pages, the dataset list narrowed
by agency or domain, the last thirty days by default), addresses and names masked by role, and the
browser's address read from a trusted proxy header only when one is configured.
"""

from __future__ import annotations

from datetime import date

from streamlit.testing.v1 import AppTest

from dashboard.auth import User
from dashboard.session import USER_KEY, address_from, mask_ip, mask_name


def client_script():
    import streamlit as st

    from dashboard.session import get_client

    st.text(str(id(get_client())))


def test_a_session_keeps_one_client_across_its_runs(app_client):
    session = AppTest.from_function(client_script, default_timeout=60).run()
    kept = session.text[0].value
    assert session.run().text[0].value == kept        # each run is on a new thread
    other = AppTest.from_function(client_script, default_timeout=60).run()
    assert other.text[0].value != kept


def filters_script():
    import streamlit as st

    from dashboard.session import ALL_FILTERS, filter_sidebar

    filters = filter_sidebar(show=st.session_state.get("show", ALL_FILTERS))
    st.text(f"agency={filters.agency_id} channel={filters.channel} dataset={filters.dataset_id}")


def test_agency_user_filters_are_scoped_whatever_the_state_says(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("alice", "agency", "A01")
    at.session_state["odwatch_filters"] = {"agency": "A02", "dataset": "D2"}   # a forged choice
    at.run()
    assert not at.exception
    assert at.text[0].value == "agency=A01 channel=None dataset=None"
    agency_box = at.selectbox(key="flt_agency")
    assert agency_box.disabled and agency_box.options == ["全部", "市交通委"]
    assert at.selectbox(key="flt_dataset").options == ["全部", "公交线路"]


def test_filters_persist_across_pages_that_show_fewer_filters(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    # Every filter starts on its "all" option (index 0), not on an empty placeholder.
    assert [box.index for box in at.sidebar.selectbox] == [0, 0, 0]
    assert [radio.index for radio in at.sidebar.radio] == [0, 0]
    at.radio(key="flt_channel").set_value("api").run()
    at.selectbox(key="flt_agency").set_value("A02").run()
    assert at.text[0].value == "agency=A02 channel=api dataset=None"
    at.session_state["show"] = ("dates",)                  # a page with only the date filter
    at.run()
    assert not at.selectbox and not at.radio
    assert at.text[0].value == "agency=A02 channel=api dataset=None"
    at.session_state["show"] = ("agency", "channel")       # back on a page that shows them
    at.run()
    assert at.radio(key="flt_channel").value == "api"
    assert at.selectbox(key="flt_agency").value == "A02"


def test_the_dataset_list_opens_once_an_agency_or_a_domain_narrows_it(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    datasets = at.selectbox(key="flt_dataset")
    assert datasets.disabled and datasets.options == ["全部"]
    at.selectbox(key="flt_domain").set_value("卫生").run()
    assert at.selectbox(key="flt_dataset").options == ["全部", "医院名录"]
    at.selectbox(key="flt_dataset").set_value("D2").run()
    assert at.text[0].value == "agency=None channel=None dataset=D2"
    at.selectbox(key="flt_domain").set_value("").run()      # widening again drops the dataset
    assert at.selectbox(key="flt_dataset").disabled
    assert at.text[0].value == "agency=None channel=None dataset=None"
    at.selectbox(key="flt_agency").set_value("A01").run()
    assert at.selectbox(key="flt_dataset").options == ["全部", "公交线路"]


def test_dates_default_to_the_last_thirty_days(app_client):
    at = AppTest.from_function(filters_script, default_timeout=60)
    at.session_state[USER_KEY] = User("olivia", "official")
    at.run()
    start, end = at.date_input(key="flt_dates").value
    assert (end - start).days == 29 and end >= date(2026, 11, 27)


def test_ip_and_name_masking_by_role():
    assert mask_ip("203.0.113.45", role="security") == "203.0.113.45"
    assert mask_ip("203.0.113.45", role="admin") == "203.0.113.45"
    assert mask_ip("203.0.113.45", role="official") == "203.0.*.*"
    assert mask_ip("203.0.113.45", role="agency") == "203.0.*.*"
    assert mask_ip("2001:db8:1:2::5", role="agency") == "2001:db8:1::*"
    assert mask_name("张三丰", role="agency") == "张**"
    assert mask_name("张三丰", "person", role="security") == "张三丰"
    assert mask_name("上海某某数据科技有限公司", "company", role="agency") == "上海某某数据科技有限公司"


def test_the_trusted_header_is_read_only_when_configured():
    headers = {"X-Forwarded-For": "10.9.9.9, 198.51.100.23"}
    assert address_from("", headers, "203.0.113.1") == "203.0.113.1"       # no proxy: the connection
    assert address_from("X-Forwarded-For", headers, "203.0.113.1") == "198.51.100.23"   # the proxy's entry
    assert address_from("X-Forwarded-For", {}, "203.0.113.1") == "unknown"   # not through the proxy
