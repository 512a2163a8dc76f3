"""The one cache of data functions (warehouse.cache), on the real engine: a result is computed once
per version of the warehouse's data, a write is seen by the next call, the bound evicts, callers
get copies, and a confirmed violation shows at once on the pages that read it."""

from __future__ import annotations

import threading

import polars as pl
import pytest
from page_apps import frames, page_app

from dashboard.auth import User
from dashboard.session import USER_KEY
from detectors.violations import record_violation
from odwatch import clock
from reports.evaluation_store import evaluate_year
from warehouse import connect
from warehouse.cache import DataCache, cached

AGENCY_NAMES = "SELECT name FROM agencies FINAL ORDER BY name"


def add_agency(client, agency_id: str, name: str) -> None:
    client.insert("agencies", [[agency_id, name, "", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])


def counting(cache: DataCache | None = None):
    """A data function (the agencies' names) that notes each time it is computed."""
    calls: list[int] = []

    def agency_names(client, suffix: str = "") -> list[str]:
        calls.append(1)
        return [name + suffix for (name,) in client.query(AGENCY_NAMES).result_rows]

    return (cached(agency_names) if cache is None else cache.wrap(agency_names)), calls


def test_same_data_same_arguments_computed_once(client):
    add_agency(client, "a1", "市交通委")
    names, calls = counting()
    assert names(client) == names(client) == ["市交通委"]
    assert len(calls) == 1
    assert names(client, "!") == ["市交通委!"] and len(calls) == 2        # other arguments, other result


def test_a_write_makes_the_next_call_compute_again(client):
    add_agency(client, "a1", "市交通委")
    names, calls = counting()
    assert names(client) == ["市交通委"]
    add_agency(client, "a2", "市卫健委")                   # a write into the table it reads
    assert set(names(client)) == {"市交通委", "市卫健委"} and len(calls) == 2


def test_any_write_in_the_database_is_a_new_version(client):
    """One version per database, not per table: a sign-in written to the audit trail also makes
    every kept result of that database stale (simple, and never wrong)."""
    add_agency(client, "a1", "市交通委")
    names, calls = counting()
    names(client)
    client.command("INSERT INTO sign_in_attempts (username, ok) VALUES ('alice', 1)")
    names(client)
    assert len(calls) == 2


def test_each_database_keeps_its_own_results(client, settings):
    add_agency(client, "a1", "市交通委")
    other = connect(settings.model_copy(update={"clickhouse_database": settings.clickhouse_database + "_b"}))
    add_agency(other, "b1", "市民政局")
    names, calls = counting()
    assert names(client) == ["市交通委"] and names(other) == ["市民政局"] and len(calls) == 2


def test_the_bound_evicts_the_least_recently_used(client):
    add_agency(client, "a1", "市交通委")
    cache = DataCache(size=2)
    names, calls = counting(cache)
    names(client, "1"), names(client, "2")
    names(client, "1")                              # now the most recently used
    names(client, "3")                              # evicts "2"
    assert len(cache) == 2 and len(calls) == 3
    names(client, "1"), names(client, "3")
    assert len(calls) == 3
    names(client, "2")
    assert len(calls) == 4


def test_callers_get_copies_never_the_kept_result(client):
    add_agency(client, "a1", "市交通委")
    names, _ = counting()
    names(client).append("changed by a caller")
    assert names(client) == ["市交通委"]

    @cached
    def frame(client) -> pl.DataFrame:
        return pl.DataFrame({"name": [name for (name,) in client.query(AGENCY_NAMES).result_rows]})

    frame(client)[0, "name"] = "changed in place"
    assert frame(client)["name"].to_list() == ["市交通委"]


def test_a_failure_is_not_kept(client):
    calls: list[int] = []

    @cached
    def fails_once(client) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the engine went away")
        return client.query("SELECT count() FROM agencies").result_rows[0][0]

    with pytest.raises(RuntimeError):
        fails_once(client)
    assert fails_once(client) == 0 and len(calls) == 2


def test_arguments_must_be_hashable(client):
    names, calls = counting()
    with pytest.raises(TypeError):
        names(client, ["a list"])
    assert calls == []


def test_two_threads_asking_at_once_share_one_computation(client, settings):
    add_agency(client, "a1", "市交通委")
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    @cached
    def slow_names(client) -> list[str]:
        calls.append(1)
        entered.set()
        release.wait(timeout=60)
        return [name for (name,) in client.query(AGENCY_NAMES).result_rows]

    results: dict[str, list[str]] = {}

    def ask(name: str) -> None:
        results[name] = slow_names(connect(settings))   # each thread on its own client, as Streamlit's

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    assert entered.wait(timeout=60)
    second = threading.Thread(target=ask, args=("second",))
    second.start()
    second.join(timeout=0.5)                   # it waits for the first one's result
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert results == {"first": ["市交通委"], "second": ["市交通委"]}
    assert len(calls) == 1


# ---- a confirmed violation shows at once -------------------------------------------------------------------

@pytest.fixture
def app_database(env_client):
    """The pages (which read settings from the environment) on this test's database."""
    add_agency(env_client, "a1", "市交通委")
    env_client.insert("datasets", [["d1", "a1", "公交线路", "traffic", "unconditional", "open"]],
                      column_names=["dataset_id", "agency_id", "name", "domain", "open_class", "status"])
    env_client.insert("consumers", [["c1", "甲数据公司", "company"]],
                      column_names=["consumer_id", "name", "kind"])
    return env_client


def test_a_confirmed_violation_is_on_the_evaluation_and_the_violations_page_at_once(app_database, settings):
    client = app_database
    year = clock.today().year
    evaluation_page = page_app("evaluation")
    violations_page = page_app("violations")
    for app in (evaluation_page, violations_page):
        app.session_state[USER_KEY] = User("adam", "admin")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
    before = evaluate_year(client, settings, year).agency("a1")
    assert before.context == [] and not any("记录编号" in f.columns for f in frames(violations_page))

    violation_id = record_violation(client, consumer_id="c1", category=4, actor="adam", dataset_id="d1",
                                    agency_id="a1", description="超范围使用", severity="high")

    # A consumer's violation is context on the evaluation (not the agency's score), shown at once.
    after = evaluate_year(client, settings, year).agency("a1")
    assert "违法违规记录 1 起" in after.context[0] and after.total == before.total
    evaluation_page.run()
    evaluation_page.selectbox(key="evaluation_agency").set_value("a1").run()
    assert any("违法违规记录 1 起" in c.value for c in evaluation_page.caption)
    violations_page.run()
    registry = next(f for f in frames(violations_page) if "记录编号" in f.columns)
    assert registry["记录编号"].to_list() == [violation_id]
