"""Accounts, password hashing, masking and `odwatch users` (throttling: test_security_signin.py)."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from dashboard import auth
from dashboard.auth import User
from dashboard.cli import read_password
from dashboard.session import mask_ip, mask_name
from odwatch import vocabulary
from odwatch.cli import app
from odwatch.errors import UserError
from odwatch.settings import get_settings

PASSWORD = "correct horse battery"


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


def test_ip_and_name_masking_by_role():
    assert mask_ip("203.0.113.45", role="security") == "203.0.113.45"
    assert mask_ip("203.0.113.45", role="admin") == "203.0.113.45"
    assert mask_ip("203.0.113.45", role="official") == "203.0.*.*"
    assert mask_ip("203.0.113.45", role="agency") == "203.0.*.*"
    assert mask_ip("2001:db8:1:2::5", role="agency") == "2001:db8:1::*"
    assert mask_name("张三丰", role="agency") == "张**"
    assert mask_name("张三丰", "person", role="security") == "张三丰"
    assert mask_name("上海某某数据科技有限公司", "company", role="agency") == "上海某某数据科技有限公司"


def test_read_password_takes_one_line_from_a_pipe():
    assert read_password(io.StringIO("s3cret pass\nignored\n")) == "s3cret pass"
    with pytest.raises(UserError, match="No password"):
        read_password(io.StringIO(""))


@pytest.fixture
def cli_env(settings, agencies, monkeypatch):
    monkeypatch.setenv("ODWATCH_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    get_settings.cache_clear()
    yield agencies
    get_settings.cache_clear()


def test_users_add_list_disable_through_the_cli(cli_env):
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "carol", "--role", "agency", "--agency", "A01"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "Saved account carol with role agency for agency A01" in added.output
    assert auth.authenticate(cli_env, "carol", PASSWORD).user == User("carol", "agency", "A01")
    listed = runner.invoke(app, ["users", "list"])
    assert "carol" in listed.output and "active" in listed.output
    assert runner.invoke(app, ["users", "disable", "carol"]).exit_code == 0
    assert auth.get_user(cli_env, "carol")["disabled"] == 1


def test_users_add_with_a_bad_role_saves_nothing(cli_env):
    result = CliRunner().invoke(app, ["users", "add", "dave", "--role", "boss"], input=PASSWORD + "\n")
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError)
    assert auth.get_user(cli_env, "dave") is None


def test_oidc_identities_map_only_to_provisioned_active_accounts(client):
    from dashboard.signin import oidc_configured

    assert oidc_configured() is False          # no .streamlit/secrets.toml [auth]: local sign-in only
    auth.add_user(client, "li.ming@sheitc.sh.gov.cn", "official", PASSWORD)
    assert auth.user_for_identity(client, "li.ming@sheitc.sh.gov.cn") == User("li.ming@sheitc.sh.gov.cn",
                                                                              "official", "")
    assert auth.user_for_identity(client, "stranger@example.com") is None
    auth.disable_user(client, "li.ming@sheitc.sh.gov.cn")
    assert auth.user_for_identity(client, "li.ming@sheitc.sh.gov.cn") is None
