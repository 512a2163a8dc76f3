"""Accounts (dashboard/auth.py): passwords stored as argon2 hashes, bad accounts and weak passwords
refused with a sentence, disabled accounts, the demo accounts, identities from a single sign-on provider;
and sign-in throttling without lock-out, counted by account and client address: an attacker slows their
own attempts, never another address's right password; refusals audited at a bounded rate.

Signing in through the shell: test_dashboard_signin.py; the `odwatch users` commands: test_dashboard_cli.py.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from dashboard import auth
from dashboard.auth import Attempt, Throttle, User
from odwatch import vocabulary
from odwatch.errors import UserError
from odwatch.settings import get_settings
from warehouse import connect

PASSWORD = "correct horse battery"
ATTACKER, OFFICE = "198.51.100.23", "203.0.113.7"


# ---- Accounts ----------------------------------------------------------------------------------------------

@pytest.fixture
def agencies(client):
    client.insert("agencies", [["A01", "市交通委", "Transport", "city_bureau"]],
                  column_names=["agency_id", "name", "name_en", "kind"])
    client.insert("datasets", [["D1", "A01", "公交线路"], ["D2", "A01", "地铁站点"]],
                  column_names=["dataset_id", "agency_id", "name"])
    return client


def test_passwords_are_stored_as_argon2_hashes(client):
    auth.add_user(client, "alice", "official", PASSWORD)
    stored = auth.get_user(client, "alice")["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert auth.authenticate(client, "alice", PASSWORD).user == User("alice", "official", "")
    assert auth.authenticate(client, "alice", PASSWORD.upper()).reason == "invalid"
    assert auth.authenticate(client, "nobody", PASSWORD).reason == "invalid"


@pytest.mark.parametrize(("role", "agency", "message"), [
    ("chief", "", "Unknown role"),
    ("agency", "", "needs --agency"),
    ("official", "A01", "Only agency accounts"),
    ("agency", "NOPE", "No agency with id"),
])
def test_bad_accounts_are_refused_with_a_sentence(agencies, role, agency, message):
    with pytest.raises(UserError, match=message):
        auth.add_user(agencies, "bob", role, PASSWORD, agency)
    assert auth.get_user(agencies, "bob") is None


def test_short_password_is_refused(client):
    with pytest.raises(UserError, match="at least"):
        auth.add_user(client, "bob", "admin", "short")


def test_disabled_account_cannot_sign_in(client):
    auth.add_user(client, "alice", "official", PASSWORD)
    auth.disable_user(client, "alice")
    assert auth.authenticate(client, "alice", PASSWORD).reason == "disabled"


def test_demo_accounts_one_per_role_agency_scoped(agencies):
    accounts = auth.create_demo_accounts(agencies)
    assert len(accounts) == 4 and len(set(accounts.values())) == 4
    users = {row["username"]: row for row in auth.list_users(agencies)}
    assert sorted(row["role"] for row in users.values()) == sorted(vocabulary.ROLES)
    for username, password in accounts.items():
        signed = auth.authenticate(agencies, username, password).user
        assert signed is not None and signed.agency_id == ("A01" if signed.role == "agency" else "")


def test_oidc_identities_map_only_to_provisioned_active_accounts(client):
    from dashboard.signin import oidc_configured

    assert oidc_configured() is False          # no .streamlit/secrets.toml [auth]: local sign-in only
    auth.add_user(client, "li.ming@sheitc.sh.gov.cn", "official", PASSWORD)
    assert auth.user_for_identity(client, "li.ming@sheitc.sh.gov.cn") == User("li.ming@sheitc.sh.gov.cn",
                                                                              "official", "")
    assert auth.user_for_identity(client, "stranger@example.com") is None
    auth.disable_user(client, "li.ming@sheitc.sh.gov.cn")
    assert auth.user_for_identity(client, "li.ming@sheitc.sh.gov.cn") is None


# ---- Sign-in throttling, weak passwords, audited refusals --------------------------------------------------

@pytest.fixture
def policy(env_client, monkeypatch):
    """The test's database as the process's settings, with the policy's knobs (ODWATCH_SIGNIN_*) set
    per test by calling the fixture's value."""

    def configure(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"ODWATCH_SIGNIN_{name.upper()}", str(value))
        get_settings.cache_clear()

    return configure


def audit_rows(client, action: str) -> list[tuple]:
    return client.query("SELECT actor, object_id, detail FROM audit_log WHERE action = {a:String} "
                        "ORDER BY seq", parameters={"a": action}).result_rows


def checked_attempts(client) -> int:
    checked = "SELECT count() FROM sign_in_attempts WHERE outcome IN ('ok', 'failed')"
    return client.query(checked).result_rows[0][0]


def test_the_wait_doubles_after_the_free_failures_up_to_the_ceiling():
    throttle = Throttle(timedelta(hours=1), free_failures=3, first_delay_s=2, max_delay_s=60,
                        address_free_failures=50, address_max_attempts=500, account_free_addresses=10)
    start = auth.now()
    waits = []
    for count in range(1, 10):
        failures = [start] * count
        until = throttle.wait_after(failures, throttle.free_failures)
        waits.append(None if until is None else (until - start).total_seconds())
    assert waits == [None, None, 2, 4, 8, 16, 32, 60, 60]


def test_an_attacker_cannot_keep_the_right_password_out_from_another_address(client, policy):
    policy(free_failures=2)
    auth.add_user(client, "alice", "official", PASSWORD)
    for _ in range(3):
        auth.authenticate(client, "alice", "guess", ATTACKER)
    at_attacker = auth.authenticate(client, "alice", PASSWORD, ATTACKER)
    assert at_attacker.reason == "throttled" and at_attacker.retry_after > auth.now()
    assert auth.authenticate(client, "alice", PASSWORD, OFFICE).user == User("alice", "official", "")


def test_the_right_password_works_once_the_wait_is_over(client, policy):
    auth.add_user(client, "alice", "official", PASSWORD)
    free = get_settings().signin_free_failures
    long_ago = auth.now() - timedelta(minutes=5)            # more than the wait of free + 2 failures
    client.insert("sign_in_attempts", [["alice", long_ago, 0, "local", ATTACKER, "failed"]] * (free + 2),
                  column_names=auth.ATTEMPT_COLUMNS)
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "ok"


def test_spraying_one_password_over_many_accounts_is_slowed(client, policy):
    policy(address_free_failures=3)
    for n in range(3):
        assert auth.authenticate(client, f"user{n}", "Summer2025!", ATTACKER).reason == "invalid"
    sprayed = auth.authenticate(client, "user99", "Summer2025!", ATTACKER)
    assert sprayed.reason == "throttled"
    assert auth.authenticate(client, "user99", "Summer2025!", OFFICE).reason == "invalid"   # others go on


def test_an_address_has_a_ceiling_even_with_right_passwords(client, policy):
    policy(address_max_attempts=2)
    auth.add_user(client, "alice", "official", PASSWORD)
    for _ in range(2):
        assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "ok"
    assert auth.authenticate(client, "alice", PASSWORD, ATTACKER).reason == "throttled"
    assert auth.authenticate(client, "alice", PASSWORD, OFFICE).reason == "ok"


def test_many_addresses_failing_on_one_account_slow_only_new_addresses(client, policy):
    policy(account_free_addresses=2)
    auth.add_user(client, "alice", "official", PASSWORD)
    assert auth.authenticate(client, "alice", PASSWORD, OFFICE).reason == "ok"      # her usual address
    for n in range(2):
        auth.authenticate(client, "alice", "guess", f"192.0.2.{n + 1}")
    assert auth.authenticate(client, "alice", PASSWORD, "192.0.2.200").reason == "throttled"
    assert auth.authenticate(client, "alice", PASSWORD, OFFICE).reason == "ok"


def parallel_sign_ins(settings, passwords: list[str], address: str) -> list[str]:
    """Start the attempts at once, each on a thread with its own client, as sessions of a server do."""
    start = threading.Barrier(len(passwords))
    reasons: list[str] = []

    def attempt(password: str) -> None:
        own = connect(settings)
        start.wait()
        reasons.append(auth.authenticate(own, "alice", password, address).reason)

    threads = [threading.Thread(target=attempt, args=(password,)) for password in passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reasons


def test_ten_parallel_attempts_cannot_get_past_the_limit(client, settings, policy):
    policy(free_failures=3, first_delay_s=60)
    auth.add_user(client, "alice", "official", PASSWORD)
    for _ in range(2):
        auth.authenticate(client, "alice", "guess", ATTACKER)
    before = checked_attempts(client)
    reasons = parallel_sign_ins(settings, ["guess"] * 9 + [PASSWORD], ATTACKER)
    # One attempt was left before the wait: exactly one password is checked, nine are refused.
    assert checked_attempts(client) - before == 1
    assert sorted(reasons).count("throttled") == 9
    if "ok" not in reasons:                        # the checked one was a wrong guess: the limit is reached
        again = parallel_sign_ins(settings, ["guess"] * 9 + [PASSWORD], ATTACKER)
        assert again == ["throttled"] * 10


def test_weak_passwords_are_refused(client, policy):
    for password, why in [("        ", "only spaces"), ("password", "too easy"), ("12345678", "too easy"),
                          ("P@ssw0rd", "too easy"), ("carol.wang", "the username"), ("short", "at least")]:
        with pytest.raises(UserError, match=why):
            auth.add_user(client, "carol.wang", "official", password)
    assert auth.get_user(client, "carol.wang") is None
    auth.add_user(client, "carol.wang", "official", PASSWORD)
    with pytest.raises(UserError, match="too easy"):
        auth.set_password(client, "carol.wang", "qwertyuiop")


def test_failed_sign_ins_name_the_attempt_as_data_cut_to_length(client, policy):
    auth.authenticate(client, "x" * 100_000, "guess", ATTACKER)
    [(actor, object_id, detail)] = audit_rows(client, "sign_in_failed")
    detail = json.loads(detail)
    assert actor == f"visitor:{ATTACKER}" and object_id == ""
    assert detail["attempted"] == "x" * auth.NAME_CAP and detail["attempted_length"] == 100_000
    stored = client.query("SELECT max(length(username)) FROM sign_in_attempts").result_rows[0][0]
    assert stored == auth.NAME_CAP


def test_failed_sign_ins_are_audited_at_a_bounded_rate_per_address(client, policy):
    policy(audit_per_address=2, free_failures=100)
    for n in range(5):
        auth.authenticate(client, f"admin{n}", "guess", ATTACKER)
    assert len(audit_rows(client, "sign_in_failed")) == 2
    assert [row[1] for row in audit_rows(client, "sign_in_audit_paused")] == [ATTACKER]
    auth.authenticate(client, "admin", "guess", OFFICE)              # another address is audited as usual
    assert [row[0] for row in audit_rows(client, "sign_in_failed")][-1] == f"visitor:{OFFICE}"


def test_refused_attempts_are_not_stored_without_bound(client, policy):
    policy(audit_per_address=5, free_failures=1, first_delay_s=600)
    auth.authenticate(client, "alice", "guess", ATTACKER)
    for _ in range(40):
        assert auth.authenticate(client, "alice", "guess", ATTACKER).reason == "throttled"
    rows = client.query("SELECT count() FROM sign_in_attempts WHERE address = {a:String}",
                        parameters={"a": ATTACKER}).result_rows[0][0]
    entries = client.query("SELECT count() FROM audit_log").result_rows[0][0]
    assert rows <= 6 and entries <= 6


@pytest.mark.parametrize(("raw", "key"), [
    (None, "local"),
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),      # one subscriber's /64: rotating in it gains nothing
    ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
    ("<script>", "unknown"),
])
def test_addresses_are_counted_by_what_one_client_controls(raw, key):
    assert auth.address_key(raw) == key


def test_a_throttle_decision_is_pure():
    """The policy reads plain attempts: the same rows give the same answer."""
    throttle = Throttle.from_settings(get_settings())
    moment = auth.now()
    failures = [Attempt("alice", ATTACKER, moment - timedelta(seconds=1), "failed")] * throttle.free_failures
    assert throttle.until(failures, "alice", ATTACKER, moment) > moment
    assert throttle.until(failures, "alice", OFFICE, moment) is None
    cleared = [*failures, Attempt("alice", "", moment, "cleared")]
    assert throttle.until(cleared, "alice", ATTACKER, moment) is None


def test_an_identity_without_an_account_is_audited_like_a_failed_sign_in(client, policy):
    policy(audit_per_address=2)
    for _ in range(6):
        auth.refuse_identity(client, "stranger@example.com" + "x" * 200, ATTACKER)
    refused = audit_rows(client, "sign_in_refused")
    assert len(refused) == 2 and len(audit_rows(client, "sign_in_audit_paused")) == 1
    assert refused[0][0] == f"visitor:{ATTACKER}"
    assert len(json.loads(refused[0][2])["attempted"]) == auth.NAME_CAP
