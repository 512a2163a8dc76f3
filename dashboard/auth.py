"""Accounts, passwords and sign-in (local accounts; OIDC is handled in dashboard.signin).

Passwords are hashed with argon2id; a new password must not be blank, the username, or easy to
guess (zxcvbn's estimate, whose lists include the most common passwords).

Sign-in is throttled, never locked: an attacker must not be able to keep a user out. Failed
attempts are stored by account and by client address (`sign_in_attempts`), and after a few free
failures the next attempt has to wait, the wait doubling with each failure up to a ceiling;
after the wait the password is checked again, so the right one works. Three counts, in one
window (Settings `signin_*`):
- one account from one address: guessing a password;
- one address over all accounts: password spraying, plus a ceiling on the attempts an address
  may make at all;
- one account from many addresses: a distributed guess, which slows only the addresses that
  have never signed in to that account.
An administrator clears them with `odwatch users unthrottle`. Deciding whether an attempt may go
ahead and counting it happen under one lock, so parallel attempts cannot get past the limit
(one process; with several dashboard processes each has its own lock, see docs/security.md).

Failed and refused sign-ins are audited as `visitor:<address>` with the attempted name, cut to
64 characters, as data; at most `signin_audit_per_address` of them per address and window.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from clickhouse_connect.driver.client import Client
from zxcvbn import zxcvbn

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings
from odwatch.vocabulary import ROLES
from warehouse import audit

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
NAME_CAP = 64                       # characters of an attempted username that are stored
LOCAL, UNKNOWN = "local", "unknown"  # address keys: a localhost connection; no trusted header
# zxcvbn's matching grows fast with the length; characters past these add strength, not risk.
SCORED_CHARACTERS = 100

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("odwatch-no-such-user")
_throttle_lock = threading.Lock()
_in_flight: Counter = Counter()     # attempts being checked now, by (username, address) and address

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

# Everything that decides whether an attempt of `username` from `address` may go ahead.
ATTEMPTS_NEAR = """
SELECT username, address, at, outcome
FROM sign_in_attempts
WHERE at >= fromUnixTimestamp64Milli({since_ms:Int64})
  AND (username = {username:String} OR address = {address:String})
ORDER BY at
"""

SIGNED_IN_FROM = """
SELECT count()
FROM sign_in_attempts
WHERE username = {username:String} AND address = {address:String} AND outcome = 'ok'
"""

USER_COLUMNS = ["username", "role", "agency_id", "password_hash", "disabled"]
ATTEMPT_COLUMNS = ["username", "at", "ok", "method", "address", "outcome"]


@dataclass(frozen=True)
class User:
    username: str
    role: str
    agency_id: str = ""


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: `user` is set only when it succeeded."""

    user: User | None
    reason: str                      # ok | invalid | throttled | disabled
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


# ---- accounts ---------------------------------------------------------------------------------

def _check_account(client: Client, username: str, role: str, agency_id: str) -> None:
    """Why a new account cannot be created, as a UserError (nothing when it can)."""
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
    if get_user(client, username) is not None:
        raise UserError(f"An account named {username!r} exists already: `odwatch users password` sets a new "
                        "password, `odwatch users enable` re-enables it.")


def check_password(password: str, username: str, settings: Settings | None = None) -> None:
    """Refuse a password that is blank, short, the username, or easy to guess, with a sentence."""
    settings = settings or get_settings()
    if not password.strip():
        raise UserError("A password cannot be only spaces.")
    if len(password) < settings.min_password_length:
        raise UserError(f"A password needs at least {settings.min_password_length} characters.")
    if password.strip().casefold() == username.strip().casefold():
        raise UserError("A password cannot be the username.")
    estimate = zxcvbn(password[:SCORED_CHARACTERS], user_inputs=[username])
    if estimate["score"] < settings.min_password_score:
        why = (estimate["feedback"]["warning"] or "It is a common pattern").rstrip(".")
        raise UserError(f"This password is too easy to guess ({why}): choose a longer, less common one.")


def _save(client: Client, username: str, role: str, agency_id: str, password_hash: str,
          disabled: int) -> None:
    client.insert("users", [[username, role, agency_id, password_hash, disabled]], column_names=USER_COLUMNS)


def add_user(client: Client, username: str, role: str, password: str, agency_id: str = "",
             actor: str = "cli") -> User:
    """Create an account; an existing name is refused (see set_password and enable_user)."""
    _check_account(client, username, role, agency_id)
    check_password(password, username)
    _save(client, username, role, agency_id, hash_password(password), 0)
    audit.record(client, actor, "user_saved", "user", username, {"role": role, "agency_id": agency_id})
    return User(username, role, agency_id)


def _existing(client: Client, username: str) -> dict:
    row = get_user(client, username)
    if row is None:
        raise UserError(f"No account named {username!r}.")
    return row


def set_password(client: Client, username: str, password: str, actor: str = "cli") -> None:
    row = _existing(client, username)
    check_password(password, username)
    _save(client, username, row["role"], row["agency_id"], hash_password(password), row["disabled"])
    audit.record(client, actor, "user_password_set", "user", username)


def disable_user(client: Client, username: str, actor: str = "cli") -> None:
    row = _existing(client, username)
    _save(client, username, row["role"], row["agency_id"], row["password_hash"], 1)
    audit.record(client, actor, "user_disabled", "user", username)


def enable_user(client: Client, username: str, actor: str = "cli") -> None:
    row = _existing(client, username)
    if not row["disabled"]:
        raise UserError(f"The account {username!r} is not disabled.")
    _save(client, username, row["role"], row["agency_id"], row["password_hash"], 0)
    audit.record(client, actor, "user_enabled", "user", username)


# ---- throttling -------------------------------------------------------------------------------

def address_key(address: str | None) -> str:
    """What sign-ins are counted by: an IPv4 address, or an IPv6 address's /64 network (one
    subscriber's, so rotating through it gains nothing); `local` for a localhost connection."""
    if not address:
        return LOCAL
    text = address.strip()
    if text in (LOCAL, UNKNOWN):
        return text
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return UNKNOWN
        ip = network.network_address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str
    at: datetime
    outcome: str                     # ok | failed | refused | cleared


@dataclass(frozen=True)
class Throttle:
    """The throttling policy (Settings `signin_*`), applied to the attempts of one window."""

    window: timedelta
    free_failures: int
    first_delay_s: int
    max_delay_s: int
    address_free_failures: int
    address_max_attempts: int
    account_free_addresses: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(timedelta(minutes=settings.signin_window_minutes), settings.signin_free_failures,
                   settings.signin_first_delay_s, settings.signin_max_delay_s,
                   settings.signin_address_free_failures, settings.signin_address_max_attempts,
                   settings.signin_account_free_addresses)

    def wait_after(self, failures: list[datetime], free: int) -> datetime | None:
        """When the next attempt may go ahead: after `free` failures, a wait from the last one that
        doubles with each further failure."""
        beyond = len(failures) - free
        if beyond < 0:
            return None
        seconds = min(self.max_delay_s, self.first_delay_s * 2 ** min(beyond, 40))
        return failures[-1] + timedelta(seconds=seconds)

    def until(self, attempts: list[Attempt], username: str, address: str, moment: datetime,
              in_flight: tuple[int, int] = (0, 0), known_address: bool = True) -> datetime | None:
        """The moment an attempt of `username` from `address` may go ahead, if it is later than
        `moment`. Attempts being checked right now count as failures at `moment`."""
        def last(outcome: str, user: str | None, addr: str | None) -> datetime | None:
            return max((a.at for a in attempts if a.outcome == outcome and
                        (user is None or a.username == user) and (addr is None or a.address == addr)),
                       default=None)

        floor = moment - self.window
        user_cleared = max(floor, last("cleared", username, "") or floor)
        address_cleared = max(floor, last("cleared", "", address) or floor)
        pair_reset = max(user_cleared, address_cleared, last("ok", username, address) or floor)
        pair, by_address, checked, accounts = [], [], [], {}
        for a in attempts:
            if a.outcome in ("ok", "failed") and a.address == address and a.at > address_cleared:
                checked.append(a.at)
            if a.outcome != "failed":
                continue
            if a.username == username and a.address == address and a.at > pair_reset:
                pair.append(a.at)
            if a.address == address and a.at > address_cleared:
                by_address.append(a.at)
            if a.username == username and a.at > user_cleared:
                accounts[a.address] = a.at
        pair_now, address_now = in_flight
        pair += [moment] * pair_now
        by_address += [moment] * address_now
        checked += [moment] * address_now
        candidates = [self.wait_after(pair, self.free_failures),
                      self.wait_after(by_address, self.address_free_failures)]
        if len(checked) >= self.address_max_attempts:
            # The ceiling: the address may try again when its oldest counted attempt leaves the window.
            candidates.append(checked[len(checked) - self.address_max_attempts] + self.window)
        if not known_address:
            candidates.append(self.wait_after(sorted(accounts.values()), self.account_free_addresses))
        latest = max((c for c in candidates if c is not None), default=None)
        return latest if latest is not None and latest > moment else None


def _attempts_near(client: Client, username: str, address: str, since: datetime) -> list[Attempt]:
    rows = client.query(ATTEMPTS_NEAR, parameters={
        "username": username, "address": address, "since_ms": int(since.timestamp() * 1000)}).result_rows
    return [Attempt(u, a, clock.shanghai(at), outcome) for u, a, at, outcome in rows]


def _signed_in_from(client: Client, username: str, address: str) -> bool:
    return client.query(SIGNED_IN_FROM, parameters={"username": username, "address": address}
                        ).result_rows[0][0] > 0


def record_attempt(client: Client, username: str, outcome: str, address: str = LOCAL,
                   method: str = "local") -> None:
    client.insert("sign_in_attempts", [[username, now(), int(outcome == "ok"), method, address, outcome]],
                  column_names=ATTEMPT_COLUMNS)


def unthrottle(client: Client, username: str = "", address: str = "", actor: str = "cli") -> str:
    """Forget the failures of an account (on every address) or of an address (on every account)."""
    if bool(username) == bool(address):
        raise UserError("Name an account or give --address, not both.")
    if username:
        _existing(client, username)
        record_attempt(client, username, "cleared", "")
        audit.record(client, actor, "sign_in_unthrottled", "user", username)
        return username
    key = address_key(address)
    if key == UNKNOWN and address.strip() != UNKNOWN:
        raise UserError(f"{address!r} is not an IP address.")
    record_attempt(client, "", "cleared", key)
    audit.record(client, actor, "sign_in_unthrottled", "address", key)
    return key


def _audit_refusal(client: Client, attempts: list[Attempt], address: str, moment: datetime,
                   window: timedelta, action: str, detail: dict, object_id: str = "") -> bool:
    """Audit a failed or refused sign-in unless this address used its allowance for the window;
    the attempt that reaches the allowance is audited as that. Returns whether a refused attempt
    is still to be stored (so that the allowance counts it)."""
    budget = get_settings().signin_audit_per_address
    used = sum(1 for a in attempts if a.address == address and a.outcome in ("failed", "refused")
               and a.at >= moment - window)
    actor = f"visitor:{address}"
    if used < budget:
        audit.record(client, actor, action, "user", object_id, detail)
    elif used == budget:
        audit.record(client, actor, "sign_in_audit_paused", "address", address,
                     {"per_window": budget, "window_minutes": int(window.total_seconds() // 60)})
    return used <= budget


def refuse_identity(client: Client, identity: str, address: str | None, method: str = "oidc") -> None:
    """Audit an identity the provider vouched for but no account has, like a failed sign-in: as
    data, cut to length, within the address's allowance."""
    name, address, moment = identity.strip()[:NAME_CAP], address_key(address), now()
    window = timedelta(minutes=get_settings().signin_window_minutes)
    attempts = _attempts_near(client, name, address, moment - window)
    detail = {"attempted": name, "address": address, "method": method, "reason": "not provisioned"}
    if _audit_refusal(client, attempts, address, moment, window, "sign_in_refused", detail):
        record_attempt(client, name, "refused", address, method)


def authenticate(client: Client, username: str, password: str, address: str | None = None,
                 method: str = "local") -> SignIn:
    """Check a local sign-in from `address` (an IP address; None for localhost), throttled."""
    typed = username.strip()
    name, address = typed[:NAME_CAP], address_key(address)
    detail = {"attempted": name, "address": address, "method": method}
    if len(typed) > NAME_CAP:
        detail["attempted_length"] = len(typed)
    throttle = Throttle.from_settings(get_settings())
    pair = (name, address)
    with _throttle_lock:
        moment = now()
        attempts = _attempts_near(client, name, address, moment - throttle.window)
        until = throttle.until(attempts, name, address, moment, (_in_flight[pair], _in_flight[address]),
                               known_address=_signed_in_from(client, name, address))
        if until is not None:
            if _audit_refusal(client, attempts, address, moment, throttle.window, "sign_in_throttled",
                              {**detail, "retry_after": until.isoformat(timespec="seconds")}):
                record_attempt(client, name, "refused", address, method)
            return SignIn(None, "throttled", until)
        _in_flight[pair] += 1
        _in_flight[address] += 1
    outcome = "failed"
    try:
        row = get_user(client, name) if USERNAME.match(name) else None
        matches = password_matches(row["password_hash"] if row else _DUMMY_HASH, password)
        outcome = "failed" if row is None or not matches else "refused" if row["disabled"] else "ok"
    finally:
        with _throttle_lock:
            record_attempt(client, name, outcome, address, method)
            _in_flight[pair] -= 1
            _in_flight[address] -= 1
    if outcome == "ok":
        audit.record(client, name, "sign_in", "user", name, {"method": method, "address": address})
        return SignIn(User(name, row["role"], row["agency_id"]), "ok")
    reason = "disabled" if outcome == "refused" else "invalid"
    _audit_refusal(client, attempts, address, moment, throttle.window,
                   "sign_in_refused" if reason == "disabled" else "sign_in_failed",
                   {**detail, "reason": reason}, object_id=name if row is not None else "")
    return SignIn(None, reason)


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
        if get_user(client, username) is None:
            agency = busiest[0][0] if role == "agency" else ""
            add_user(client, username, role, password, agency, actor="demo")
        else:
            set_password(client, username, password, actor="demo")
        accounts[username] = password
    return accounts
