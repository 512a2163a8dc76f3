"""The append-only, tamper-evident audit trail (第二十四条(五), 第二十五条).

Each entry carries a MAC: HMAC-SHA-256, under a key kept outside the database, over the
previous entry's MAC and the entry's own content. Editing an entry breaks its MAC, deleting
or reordering one breaks the chain (a gap in `seq`, a `prev_hash` that does not match), and
without the key nobody can write a chain that verifies.

Cutting off the newest entries leaves a shorter chain that is still consistent, so the head
is published outside the table: a checkpoint (chain, sequence number, head MAC, time, and a
signature under the key) is appended to a file outside the data directory, printed by
`odwatch audit checkpoint` for an external log, and handed to whoever subscribed through
`on_checkpoint` (the notification channels). `verify` checks the chain and that it still
reaches every checkpoint, with the MAC the checkpoint names.

Entries written before the key existed carry a keyless SHA-256 (`scheme = 'sha256'`). They
still verify, as a prefix of the chain only: the first keyed entry covers the last of them,
and a checkpoint is written with it, so a chain rewritten in the keyless form no longer
matches. docs/security.md says what this protects against and what it does not.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import hmac
import json
import logging
import os
import pwd
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from clickhouse_connect.driver.client import Client

from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings, get_settings

GENESIS = "0" * 64
KEYLESS, KEYED = "sha256", "hmac-sha256"
_append_lock = threading.Lock()
_key_lock = threading.Lock()
_keys: dict[tuple[str, str], bytes] = {}
_listeners: list[Callable[[Checkpoint], None]] = []
log = logging.getLogger(__name__)

CHAIN_HEAD = "SELECT seq, hash, scheme FROM audit_log ORDER BY seq DESC LIMIT 1"

CHAIN_IN_ORDER = """
SELECT seq, at, actor, action, object_type, object_id, detail, prev_hash, hash, scheme
FROM audit_log
ORDER BY seq
"""

COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_id", "detail", "prev_hash", "hash",
           "scheme"]


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class Checkpoint:
    """The head of one chain at one moment, signed with the audit key."""

    chain: str          # the database the trail lives in
    seq: int
    head: str           # the MAC of entry `seq`
    at: str             # ISO 8601, Shanghai time
    sig: str

    def line(self) -> str:
        """One line of JSON: what the checkpoint file holds and an external log keeps."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        try:
            fields = json.loads(text)
            return cls(chain=str(fields["chain"]), seq=int(fields["seq"]), head=str(fields["head"]),
                       at=str(fields["at"]), sig=str(fields["sig"]))
        except (ValueError, TypeError, KeyError):
            raise UserError(f"Not a checkpoint line: {text[:80]!r}.") from None


# ---- the key ----------------------------------------------------------------------------------

def _outside_data_dir(path: Path, settings: Settings, what: str) -> Path:
    path = path.resolve()
    if path.is_relative_to(settings.data_dir.resolve()):
        raise UserError(f"The audit {what} {path} is inside the data directory {settings.data_dir}: "
                        f"set audit_{what.replace(' ', '_')} to a path outside it.")
    return path


def key_path(settings: Settings) -> Path:
    return _outside_data_dir(settings.audit_key_path, settings, "key file")


def checkpoint_path(settings: Settings) -> Path:
    return _outside_data_dir(settings.audit_checkpoint_path, settings, "checkpoint file")


def ensure_key(settings: Settings | None = None) -> Path | None:
    """Create the key file (mode 0600, in a 0700 folder) unless it exists or the key is given in the
    settings; returns the path when this call created it."""
    settings = settings or get_settings()
    if settings.audit_key.get_secret_value():
        return None
    path = key_path(settings)
    if path.exists():
        return None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)        # atomic, and fails if another process got there first
    except FileExistsError:
        return None
    finally:
        temporary.unlink()
    return path


def _master_key(settings: Settings, create: bool) -> bytes | None:
    given = settings.audit_key.get_secret_value()
    if given:
        if len(given) < 32:
            raise UserError("ODWATCH_AUDIT_KEY must be at least 32 characters (e.g. `openssl rand -hex 32`).")
        return given.encode("utf-8")
    if create:
        ensure_key(settings)
    path = key_path(settings)
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < 32:
        raise UserError(f"The audit key file {path} holds fewer than 32 characters.")
    return text.encode("utf-8")


def _key(settings: Settings, purpose: str, create: bool = False) -> bytes | None:
    """A key derived from the master key for one purpose (entries, checkpoints); a key file is
    read once per process."""
    given = settings.audit_key.get_secret_value()
    source = hashlib.sha256(given.encode()).hexdigest() if given else str(settings.audit_key_path)
    cache_key = (source, purpose)
    with _key_lock:
        if cache_key not in _keys:
            master = _master_key(settings, create)
            if master is None:
                return None
            _keys[cache_key] = hmac.new(master, f"odwatch audit {purpose}".encode(), hashlib.sha256).digest()
        return _keys[cache_key]


# ---- entries ----------------------------------------------------------------------------------

def _payload(prev_hash: str, seq: int, at: datetime, actor: str, action: str, object_type: str,
             object_id: str, detail: str) -> bytes:
    # Milliseconds since the epoch: the stored DateTime64(3) round-trips exactly.
    millis = int(round(at.timestamp() * 1000))
    return json.dumps([prev_hash, seq, millis, actor, action, object_type, object_id, detail],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _digest(scheme: str, key: bytes | None, payload: bytes) -> str:
    if scheme == KEYLESS:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def record(client: Client, actor: str, action: str, object_type: str = "",
           object_id: str = "", detail: dict | None = None) -> int:
    """Append one audit entry; returns its sequence number."""
    settings = get_settings()
    key = _key(settings, "entry", create=True)
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    with _append_lock:
        head = client.query(CHAIN_HEAD).result_rows
        seq, prev_hash, prev_scheme = (head[0][0] + 1, head[0][1], head[0][2]) if head else (1, GENESIS, "")
        now = clock.now_ms()
        payload = _payload(prev_hash, seq, now, actor, action, object_type, object_id, detail_text)
        digest = _digest(KEYED, key, payload)
        row = [seq, now, actor, action, object_type, object_id, detail_text, prev_hash, digest, KEYED]
        client.insert("audit_log", [row], column_names=COLUMNS)
        if prev_scheme != KEYED:
            # The first keyed entry of this chain: its checkpoint fixes the chain as keyed from here,
            # so it cannot be rewritten in the keyless form.
            _publish(client, settings, seq, digest)
    return seq


ENTRIES_SINCE = """
SELECT count()
FROM audit_log
WHERE actor = {actor:String} AND action = {action:String}
  AND at >= {since:DateTime64(3, 'Asia/Shanghai')}
"""


def record_within(client: Client, actor: str, action: str, object_type: str, object_id: str,
                  detail: dict, per_window: int, window: timedelta) -> bool:
    """Audit an entry by an actor who is not signed in, at most `per_window` per window; the entry
    that reaches the allowance is one `audit_paused` entry instead, so a visitor cannot fill the
    trail. Returns whether the entry itself was written."""
    since = clock.now_ms() - window
    used = client.query(ENTRIES_SINCE, parameters={"actor": actor, "action": action, "since": since}
                        ).result_rows[0][0]
    if used < per_window:
        record(client, actor, action, object_type, object_id, detail)
        return True
    paused = client.query(ENTRIES_SINCE, parameters={"actor": actor, "action": "audit_paused",
                                                     "since": since}).result_rows[0][0]
    if not paused:
        record(client, actor, "audit_paused", "action", action,
               {"per_window": per_window, "window_minutes": int(window.total_seconds() // 60)})
    return False


def cli_actor() -> str:
    """Who runs a CLI command: `cli:` and the operating-system account of the process.

    The account comes from the process's user id, not from $USER or $LOGNAME, which the caller
    sets at will; `cli:` cannot begin a dashboard username, so the two are never confused.
    """
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:                                   # a uid without an entry (some containers)
        name = getpass.getuser()
    return f"cli:{name}"


def record_cli(client: Client, action: str, object_type: str = "", object_id: str = "",
               detail: dict | None = None) -> int:
    """Audit a CLI command that changed or exported data, as the operating-system user who ran it."""
    return record(client, cli_actor(), action, object_type, object_id, detail)


# ---- checkpoints ------------------------------------------------------------------------------

def _signature(key: bytes, chain: str, seq: int, head: str, at: str) -> str:
    message = json.dumps([chain, seq, head, at], separators=(",", ":")).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def on_checkpoint(listener: Callable[[Checkpoint], None]) -> None:
    """Call `listener` with every checkpoint written by this process (e.g. to send it to the
    notification channels); a listener that fails is logged and never stops the checkpoint."""
    if listener not in _listeners:
        _listeners.append(listener)


def _publish(client: Client, settings: Settings, seq: int, head: str) -> Checkpoint:
    key = _key(settings, "checkpoint", create=True)
    at = clock.now().isoformat(timespec="seconds")
    point = Checkpoint(client.database, seq, head, at, _signature(key, client.database, seq, head, at))
    path = checkpoint_path(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(point.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    for listener in list(_listeners):
        try:
            listener(point)
        except Exception:  # noqa: BLE001 - a failing channel never blocks the trail
            log.exception("audit checkpoint listener %r failed", listener)
    return point


def read_checkpoints(settings: Settings, chain: str) -> tuple[list[Checkpoint], list[str]]:
    """This chain's checkpoints in the file, and the lines that are not checkpoints at all."""
    path = checkpoint_path(settings)
    if not path.exists():
        return [], []
    found, unreadable = [], []
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                point = Checkpoint.parse(text)
            except UserError:
                unreadable.append(f"line {number} of {path} is not a checkpoint")
                continue
            if point.chain == chain:
                found.append(point)
    return found, unreadable


def checkpoint(client: Client, settings: Settings | None = None, *, only_if_moved: bool = False
               ) -> Checkpoint | None:
    """Publish the chain's head; None when the trail is empty (or, with `only_if_moved`, when the
    head is the one the last checkpoint named)."""
    settings = settings or get_settings()
    with _append_lock:
        head = client.query(CHAIN_HEAD).result_rows
        if not head:
            return None
        seq, digest, _ = head[0]
        if only_if_moved:
            published, _ = read_checkpoints(settings, client.database)
            if published and max(point.seq for point in published) >= seq:
                return None
        return _publish(client, settings, seq, digest)


# ---- verification -----------------------------------------------------------------------------

def _checkpoint_problems(settings: Settings, chain: str, points: Iterable[Checkpoint]
                         ) -> tuple[dict[int, list[Checkpoint]], list[ChainProblem]]:
    """Checkpoints whose signature holds, by sequence number, and a problem for every other one."""
    key = _key(settings, "checkpoint")
    trusted: dict[int, list[Checkpoint]] = {}
    problems = []
    for point in points:
        if point.chain != chain:
            problems.append(ChainProblem(point.seq, f"the checkpoint of {point.at} is for chain "
                                                    f"{point.chain!r}, not {chain!r}"))
        elif key is None:
            problems.append(ChainProblem(point.seq, f"the checkpoint of {point.at} cannot be checked: "
                                                    f"no audit key at {key_path(settings)}"))
        elif not hmac.compare_digest(point.sig, _signature(key, chain, point.seq, point.head, point.at)):
            problems.append(ChainProblem(point.seq, f"the checkpoint of {point.at} has a bad signature "
                                                    "(it was not written with the audit key)"))
        else:
            trusted.setdefault(point.seq, []).append(point)
    return trusted, problems


def _missing(first: int, last: int) -> str:
    return "is missing" if first == last else f"is missing, and so are the entries after it up to {last}"


def _entry_problems(entry: tuple, expected_seq: int, expected_prev: str, keyed_before: bool,
                    key: bytes | None) -> list[ChainProblem]:
    """What is wrong with one entry, given the one before it."""
    seq, at, actor, action, object_type, object_id, detail, prev_hash, digest, scheme = entry
    found = []
    if seq != expected_seq:
        found.append(ChainProblem(expected_seq, _missing(expected_seq, seq - 1)))
    elif prev_hash != expected_prev:
        found.append(ChainProblem(seq, "does not follow the entry before it"))
    if scheme == KEYLESS and keyed_before:
        found.append(ChainProblem(seq, "has a keyless hash after keyed entries"))
    if scheme not in (KEYLESS, KEYED):
        found.append(ChainProblem(seq, f"has an unknown hash scheme {scheme!r}"))
    elif scheme == KEYLESS or key is not None:
        payload = _payload(prev_hash, seq, at, actor, action, object_type, object_id, detail)
        if not hmac.compare_digest(_digest(scheme, key, payload), digest):
            found.append(ChainProblem(seq, "was changed after it was written"))
    return found


def verify(client: Client, settings: Settings | None = None,
           external: Iterable[Checkpoint] = ()) -> tuple[int, list[ChainProblem]]:
    """Walk the chain; returns the number of entries read and every break found.

    Besides the chain itself: every checkpoint (the file's, and `external` ones kept elsewhere) must
    be signed with the key and name an entry the chain still has, with the same MAC; the newest
    one tells how long the chain was at least.
    """
    settings = settings or get_settings()
    chain = client.database
    stored, unreadable = read_checkpoints(settings, chain)
    points, problems = _checkpoint_problems(settings, chain, [*stored, *external])
    problems += [ChainProblem(0, text) for text in unreadable]
    key = _key(settings, "entry")
    expected_prev, expected_seq, count, keyed = GENESIS, 1, 0, 0
    with client.query_rows_stream(CHAIN_IN_ORDER) as stream:
        for entry in stream:
            seq, digest, scheme = entry[0], entry[8], entry[9]
            count += 1
            problems += _entry_problems(entry, expected_seq, expected_prev, keyed > 0, key)
            if scheme == KEYED and key is None and not keyed:
                problems.append(ChainProblem(seq, f"cannot be checked: no audit key at {key_path(settings)}"))
            problems += [ChainProblem(seq, f"is not the entry the checkpoint of {point.at} names")
                         for point in points.get(seq, []) if point.head != digest]
            keyed += scheme == KEYED
            expected_prev, expected_seq = digest, seq + 1
    newest = max((point for same in points.values() for point in same), key=lambda p: p.seq, default=None)
    if newest is not None and newest.seq >= expected_seq:
        problems.append(ChainProblem(expected_seq, f"{_missing(expected_seq, newest.seq)}: the checkpoint "
                                                   f"of {newest.at} saw the chain reach {newest.seq}"))
    if keyed and not stored:
        problems.append(ChainProblem(0, f"no checkpoint of this chain in {checkpoint_path(settings)}: "
                                        "the file was lost or replaced, so cut-off entries go unnoticed"))
    return count, problems
