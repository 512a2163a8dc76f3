"""Accounts, passwords and sign-in (local accounts; OIDC is handled in dashboard.session).

Passwords are hashed with argon2id. Failed sign-ins are limited per username:
after `signin_max_failures` failures within `signin_window_minutes`, further
attempts are refused for `signin_lockout_minutes` (Settings); attempts are
stored, so a reload or restart does not reset the count.
Every sign-in, failed or not, is written to the audit trail.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import get_settings
from odwatch.vocabulary import ROLES
from warehouse import audit

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("odwatch-no-such-user")

USER_BY_NAME = """
SELECT username, role, agency_id, password_hash, disabled
FROM users FINAL
WHERE username = {username:String}
"""

ALL_USERS = """
SELECT username, role, agency_id, disabled, updated_at
FROM users FINAL
ORDER BY username
"""

AGENCY_EXISTS = "SELECT count() FROM agencies FINAL WHERE agency_id = {agency_id:String}"

BUSIEST_AGENCY = """
SELECT agency_id
FROM datasets FINAL
GROUP BY agency_id
ORDER BY count() DESC, agency_id
LIMIT 1
"""

RECENT_FAILURES = """
SELECT at
FROM sign_in_attempts
WHERE username = {username:String}
  AND ok = 0
  AND at >= {since:DateTime64(3, 'Asia/Shanghai')}
  AND at > (SELECT max(at) FROM sign_in_attempts WHERE username = {username:String} AND ok = 1)
ORDER BY at
"""

USER_COLUMNS = ["username", "role", "agency_id", "password_hash", "disabled"]
ATTEMPT_COLUMNS = ["username", "at", "ok", "method"]


@dataclass(frozen=True)
class User:
    username: str
    role: str
    agency_id: str = ""


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: `user` is set only when it succeeded."""

    user: User | None
    reason: str                      # ok | invalid | locked | disabled
    retry_after: datetime | None = None


def now() -> datetime:
    return clock.now_ms()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def get_user(client: Client, username: str) -> dict | None:
    rows = client.query(USER_BY_NAME, parameters={"username": username}).named_results()
    return next(iter(rows), None)


def list_users(client: Client) -> list[dict]:
    return list(client.query(ALL_USERS).named_results())


def _check_account(client: Client, username: str, role: str, agency_id: str) -> None:
    if not USERNAME.match(username):
        raise UserError("A username is 2-64 letters, digits or . _ @ - characters.")
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if role == "agency" and not agency_id:
        raise UserError("An agency account needs --agency with the agency's id.")
    if role != "agency" and agency_id:
        raise UserError("Only agency accounts are scoped to an agency; drop --agency.")
    if agency_id:
        found = client.query(AGENCY_EXISTS, parameters={"agency_id": agency_id}).result_rows[0][0]
        if not found:
            raise UserError(f"No agency with id {agency_id!r}: load the reference data first.")


def add_user(client: Client, username: str, role: str, password: str, agency_id: str = "",
             actor: str = "cli") -> User:
    """Create an account, or replace the role and password of an existing one."""
    _check_account(client, username, role, agency_id)
    shortest = get_settings().min_password_length
    if len(password) < shortest:
        raise UserError(f"A password needs at least {shortest} characters.")
    client.insert("users", [[username, role, agency_id, hash_password(password), 0]],
                  column_names=USER_COLUMNS)
    audit.record(client, actor, "user_saved", "user", username, {"role": role, "agency_id": agency_id})
    return User(username, role, agency_id)


def disable_user(client: Client, username: str, actor: str = "cli") -> None:
    row = get_user(client, username)
    if row is None:
        raise UserError(f"No account named {username!r}.")
    client.insert("users", [[username, row["role"], row["agency_id"], row["password_hash"], 1]],
                  column_names=USER_COLUMNS)
    audit.record(client, actor, "user_disabled", "user", username)


def _locked_until(client: Client, username: str, moment: datetime) -> datetime | None:
    """When the account is locked, the moment it opens again.

    Refused attempts are not stored as failures, so the last stored failure is
    the one that reached the limit; the lockout runs from it.
    """
    settings = get_settings()
    limit = settings.signin_max_failures
    window = timedelta(minutes=settings.signin_window_minutes)
    lockout = timedelta(minutes=settings.signin_lockout_minutes)
    rows = client.query(RECENT_FAILURES, parameters={
        "username": username, "since": moment - window - lockout}).result_rows
    failures = [row[0] for row in rows]
    if len(failures) < limit:
        return None
    last = failures[-1]
    in_window = [at for at in failures if at >= last - window]
    if len(in_window) >= limit and moment < last + lockout:
        return last + lockout
    return None


def record_attempt(client: Client, username: str, ok: bool, method: str = "local") -> None:
    client.insert("sign_in_attempts", [[username, now(), int(ok), method]], column_names=ATTEMPT_COLUMNS)


def authenticate(client: Client, username: str, password: str) -> SignIn:
    """Check a local sign-in, enforcing the failure limit; every outcome is audited."""
    username = username.strip()
    moment = now()
    locked = _locked_until(client, username, moment)
    if locked is not None:
        audit.record(client, username, "sign_in_refused", "user", username, {"reason": "locked"})
        return SignIn(None, "locked", locked)
    row = get_user(client, username)
    matches = password_matches(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or not matches:
        record_attempt(client, username, False)
        audit.record(client, username, "sign_in_failed", "user", username, {"method": "local"})
        return SignIn(None, "invalid")
    if row["disabled"]:
        audit.record(client, username, "sign_in_refused", "user", username, {"reason": "disabled"})
        return SignIn(None, "disabled")
    record_attempt(client, username, True)
    audit.record(client, username, "sign_in", "user", username, {"method": "local"})
    return SignIn(User(username, row["role"], row["agency_id"]), "ok")


def user_for_identity(client: Client, identity: str) -> User | None:
    """The account an OIDC identity (its e-mail) maps to; accounts are provisioned, not self-created."""
    row = get_user(client, identity)
    if row is None or row["disabled"]:
        return None
    return User(row["username"], row["role"], row["agency_id"])


def create_demo_accounts(client: Client) -> dict[str, str]:
    """One account per role with a fresh random password; returns username -> password.

    The agency account is scoped to the agency with the most datasets, so the
    demo shows a well-filled agency view. Running it again issues new passwords.
    """
    busiest = client.query(BUSIEST_AGENCY).result_rows
    if not busiest:
        raise UserError("No datasets loaded yet: build or load the platform before creating demo accounts.")
    accounts: dict[str, str] = {}
    for role in ROLES:
        username = f"demo_{role}"
        password = secrets.token_urlsafe(12)
        add_user(client, username, role, password, busiest[0][0] if role == "agency" else "", actor="demo")
        accounts[username] = password
    return accounts
