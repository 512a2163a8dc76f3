"""Settings from the environment (ODWATCH_*) and an optional TOML file.

Order of precedence: environment, then `ODWATCH_CONFIG` (a TOML file, default
`./odwatch.toml` when present), then the defaults below. Every knob an operator
may tune is a field here: its environment name is `ODWATCH_` and the field name in
capitals (`spool_every_s` is `ODWATCH_SPOOL_EVERY_S`), its TOML name the field name.
Detector parameters and scoring weights live in nested tables.

A key the TOML file has and `Settings` does not is an error naming it (a typo
must not be dropped in silence); environment variables that are not settings
(`ODWATCH_CONFIG`, `ODWATCH_DEBUG`, anyone else's) are left alone.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from odwatch.errors import UserError

CONFIG_ENV = "ODWATCH_CONFIG"
ENV_PREFIX = "ODWATCH_"


def config_file() -> Path:
    return Path(os.environ.get(CONFIG_ENV, "odwatch.toml"))


# The vocabulary is repeated here as types: odwatch.vocabulary's tuples are the code's, these the file's.
Severity = Literal["low", "medium", "high", "critical"]
ChannelKind = Literal["webhook", "wecom", "dingtalk", "email"]
ScheduleKind = Literal["daily_digest", "operation_report", "agency_digest"]
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Strict(BaseModel):
    """A nested table of the TOML file: an unknown key is an error naming it, as at the top level."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock_time(value: str, key: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} must be a time of day like 09:30, not {value!r}") from None


ROBOT_MESSAGES_PER_MINUTE = 20


class ChannelSettings(Strict):
    """One `[[notify.channels]]` table: where messages go and which alerts it wants.

    Secrets never sit in the file: `target_env` names an environment variable holding the target
    (a robot's URL carries its key), `secret_env` the signing secret (钉钉 加签, or the HMAC key of
    a generic webhook), `password_env` the SMTP password.
    """

    name: str = Field(min_length=1)
    kind: ChannelKind
    target: str | list[str] = ""               # a URL; for e-mail, one address or a list
    target_env: str = ""
    min_severity: Severity = "high"
    categories: list[str] = Field(default_factory=list)   # alert categories; empty: all
    agencies: list[str] = Field(default_factory=list)     # agency ids; empty: all
    language: Literal["zh", "en"] = "zh"
    secret_env: str = ""
    timeout_s: float = Field(10.0, gt=0, le=120)
    ca_file: str = ""                          # a CA bundle for an internal TLS certificate authority
    enabled: bool = True
    # Messages sent per minute at most; the rest wait, worst severity first. None: the kind's own
    # limit (企业微信 and 钉钉 robots take 20 a minute, and 钉钉 silences a robot that sends more);
    # 0: no limit.
    max_per_minute: int | None = Field(None, ge=0)
    # Each audit checkpoint `odwatch serve` writes is also sent here: a copy of the trail's head
    # outside the machine (docs/security.md).
    checkpoints: bool = False
    # e-mail only
    smtp_host: str = ""
    smtp_port: int = Field(0, ge=0, le=65535)  # 0: 587 for starttls, 465 for ssl, 25 for none
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    password_env: str = ""
    sender: str = ""

    @property
    def per_minute_limit(self) -> int:
        """The messages this channel may send in a minute (0: no limit)."""
        if self.max_per_minute is not None:
            return self.max_per_minute
        return ROBOT_MESSAGES_PER_MINUTE if self.kind in ("wecom", "dingtalk") else 0

    @field_validator("target_env", "secret_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        from odwatch.vocabulary import ALERT_CATEGORIES

        unknown = [c for c in value if c not in ALERT_CATEGORIES]
        if unknown:
            raise ValueError(f"unknown alert category {unknown[0]!r}; known: {', '.join(ALERT_CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        if bool(self.target) == bool(self.target_env):
            raise ValueError(f"channel {self.name!r} needs exactly one of target and target_env")
        if self.kind == "email" and not (self.smtp_host and self.sender):
            raise ValueError(f"e-mail channel {self.name!r} needs smtp_host and sender")
        if self.kind != "email" and isinstance(self.target, list):
            raise ValueError(f"channel {self.name!r}: target is one URL for a {self.kind} channel")
        if self.kind != "email" and self.target and not str(self.target).startswith(("http://", "https://")):
            raise ValueError(f"channel {self.name!r}: target must be an http(s) URL")
        return self

    @property
    def addresses(self) -> list[str]:
        return [self.target] if isinstance(self.target, str) else list(self.target)


class EscalationSettings(Strict):
    """A critical alert group not acknowledged within `minutes` during working time, or by
    `next_working_day_by` on the next working day outside it, is sent again to `channels`."""

    channels: list[str] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=lambda: ["critical"])
    minutes: int = Field(30, ge=1)
    working_hours: tuple[str, str] = ("09:00", "18:00")
    next_working_day_by: str = "09:30"

    @field_validator("next_working_day_by")
    @classmethod
    def _time(cls, value: str) -> str:
        _clock_time(value, "next_working_day_by")
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: tuple[str, str]) -> tuple[str, str]:
        start, end = (_clock_time(v, "working_hours") for v in value)
        if start >= end:
            raise ValueError("working_hours must start before they end")
        return value


class ScheduleSettings(Strict):
    """One `[[notify.schedules]]` table: a digest or report sent to `channels` at `at` (Shanghai time);
    monthly ones on `day` of the month, for the month before."""

    kind: ScheduleKind
    channels: list[str] = Field(min_length=1)
    at: str = "08:30"
    day: int = Field(1, ge=1, le=28)
    format: Literal["pdf", "docx", "xlsx"] = "pdf"

    @field_validator("at")
    @classmethod
    def _time(cls, value: str) -> str:
        _clock_time(value, "at")
        return value


class NotifySettings(Strict):
    channels: list[ChannelSettings] = Field(default_factory=list)
    schedules: list[ScheduleSettings] = Field(default_factory=list)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    # Links in messages point here (the address people open the dashboard at).
    dashboard_url: str = "http://127.0.0.1:8501"
    # Alert groups whose last window ended longer ago are never announced: a channel added to a
    # warehouse full of history does not send the whole backlog.
    lookback_hours: int = Field(72, ge=1)
    max_attempts: int = Field(6, ge=1, le=50)
    retry_after_s: int = Field(30, ge=1)        # the first retry; each further one waits twice as long
    retry_max_s: int = Field(3600, ge=1)

    @model_validator(mode="after")
    def _references(self) -> NotifySettings:
        names = [c.name for c in self.channels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two channels are named {twice[0]!r}")
        wanted_by = [("escalation.channels", self.escalation.channels),
                     *[(f"schedules[{i}].channels", s.channels) for i, s in enumerate(self.schedules)]]
        for where, wanted in wanted_by:
            unknown = [n for n in wanted if n not in names]
            if unknown:
                raise ValueError(f"{where} names {unknown[0]!r}, which is not a channel "
                                 f"(channels: {', '.join(names) or 'none'})")
        if not self.dashboard_url.startswith(("http://", "https://")):
            raise ValueError("dashboard_url must be an http(s) URL")
        return self

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)


class RepeatStep(Strict):
    """From the `violations`-th violation within the window on, propose at least `measure`."""

    violations: int = Field(ge=2)
    measure: Literal["restrict", "close"]
    days: int | None = Field(None, ge=1)


class RepeatOffenceSettings(Strict):
    window_days: int = Field(365, ge=1)
    steps: list[RepeatStep] = Field(default_factory=lambda: [
        RepeatStep(violations=2, measure="restrict", days=90),
        RepeatStep(violations=3, measure="close", days=None),
    ])


class Settings(BaseSettings):
    # "forbid": a misspelt keyword in code fails too; the environment source only ever reads
    # the fields' own names, so other variables cannot trip it.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    data_dir: Path = Path("var/odwatch")
    clickhouse_url: str = ""
    clickhouse_database: str = "odwatch"
    clickhouse_cluster: str = ""
    access_log_ttl_days: int = Field(0, ge=0)
    ingest_chunk_lines: int = Field(200_000, ge=1)
    # --- ingest: limits on hostile input, per file. Anyone who can drop a file in the spool can
    # send one: a small gzip file can expand to gigabytes of empty lines.
    # A line longer than this is rejected ("line longer than N bytes"), however valid.
    ingest_max_line_bytes: int = Field(1024 * 1024, ge=1024)
    # A compressed file is stopped when its content grows past this size...
    ingest_max_decompressed_bytes: int = Field(32 * 1024**3, ge=1)
    # ...or past this many times the compressed bytes read (real logs compress 5-30x).
    ingest_max_expansion_ratio: float = Field(100.0, gt=1)
    # Rejected lines stored verbatim in rejected_rows per file and reason; the rest are counted.
    ingest_rejects_stored_per_reason: int = Field(1000, ge=0)
    language: str = "zh"
    # `odwatch serve`'s background jobs: seconds between two runs.
    spool_every_s: int = Field(30, ge=1)
    detect_every_s: int = Field(900, ge=1)
    evaluate_every_s: int = Field(60, ge=1)
    # Notifications (when channels are configured): also right after every detector run.
    notify_every_s: int = Field(60, ge=1)
    # Results of data functions kept by warehouse.cache, across all sessions of the process.
    cache_entries: int = Field(256, ge=1)
    # Sign-in throttling (dashboard.auth): delays that grow, never a lock-out. Failures older than
    # the window are forgotten.
    signin_window_minutes: int = Field(60, ge=1)
    # Failures of one account from one address before each further attempt waits; the wait starts
    # at signin_first_delay_s and doubles with every failure, up to signin_max_delay_s.
    signin_free_failures: int = Field(5, ge=1)
    signin_first_delay_s: int = Field(2, ge=1)
    signin_max_delay_s: int = Field(900, ge=1)
    # One address failing on many accounts (password spraying) is slowed the same way.
    signin_address_free_failures: int = Field(20, ge=1)
    # The ceiling: attempts whose password is checked, per address and window.
    signin_address_max_attempts: int = Field(100, ge=1)
    # Many addresses failing on one account slow the addresses that never signed in to it.
    signin_account_free_addresses: int = Field(10, ge=1)
    # Failed and refused sign-ins, and downloads by signed-out visitors (the 公示), written to the
    # audit trail per address and window: a visitor cannot fill the trail.
    signin_audit_per_address: int = Field(30, ge=1)
    # Behind a reverse proxy only: the request header it sets to the client's address (its last
    # entry is read, e.g. X-Forwarded-For). Empty: the address of the connection.
    signin_trusted_header: str = ""
    min_password_length: int = Field(8, ge=1)
    # zxcvbn's score (0-4) a new password needs: 2 refuses common passwords and their variants.
    min_password_score: int = Field(2, ge=0, le=4)
    # The audit trail's MAC key (warehouse.audit): given here (ODWATCH_AUDIT_KEY, 32+ characters),
    # or read from audit_key_file, which is created on first start. Both it and the checkpoint
    # file live outside the data directory (default: `<data_dir>-audit/` beside it).
    audit_key: SecretStr = SecretStr("")
    audit_key_file: Path | None = None
    audit_checkpoint_file: Path | None = None
    # `odwatch serve` writes a checkpoint this often when the trail has grown.
    audit_checkpoint_every_s: int = Field(600, ge=1)
    detectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    quality_weights: dict[str, float] = Field(default_factory=dict)
    evaluation_weights: dict[str, float] = Field(default_factory=dict)
    # The annual evaluation's review (复核) window after publication, in statutory working days.
    evaluation_review_working_days: int = Field(10, ge=0)
    # The issuing body (发文机关) and date printed at the end of the annual report; no date: the day written.
    # The date only dates a draft: a published or final year carries the day it was published or finalized.
    report_issuer: str = "上海市经济和信息化委员会"
    report_date: date | None = None
    # Notification channels, escalation and scheduled digests and reports (docs/notifications.md).
    notify: NotifySettings = Field(default_factory=NotifySettings)
    # The rule that proposes a stronger measure for a repeat offender (第三十一条).
    repeat_offence: RepeatOffenceSettings = Field(default_factory=RepeatOffenceSettings)
    # Evidence files attached to violation records: the largest accepted, in bytes.
    evidence_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def chdb_dir(self) -> Path:
        return self.data_dir / "chdb"

    @property
    def audit_dir(self) -> Path:
        """Where the audit key and checkpoints live unless set: beside the data directory, not in it."""
        data_dir = self.data_dir.resolve()
        return data_dir.parent / f"{data_dir.name}-audit"

    @property
    def audit_key_path(self) -> Path:
        return (self.audit_key_file or self.audit_dir / "audit.key").expanduser()

    @property
    def audit_checkpoint_path(self) -> Path:
        return (self.audit_checkpoint_file or self.audit_dir / "checkpoints.jsonl").expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path.is_file():
            check_config_keys(path, set(settings_cls.model_fields))
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        elif CONFIG_ENV in os.environ:
            raise UserError(f"{CONFIG_ENV} names {path}, which is not a file.")
        return tuple(sources)


def check_config_keys(path: Path, known: set[str]) -> None:
    """Raise a UserError naming the first top-level key of the TOML file that is not a setting."""
    try:
        with path.open("rb") as handle:
            keys = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML: {exc}.") from None
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise UserError(f"Unknown setting {key!r} in {path}{hint}")


def _key_name(loc: tuple) -> str:
    """notify.channels[0].target, as an operator finds it in the file."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The settings model that holds the last key of `loc`, for suggesting a close key."""
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) else None
        if field is None:
            return None
        annotation = field.annotation
        for arg in (*getattr(annotation, "__args__", ()), annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                model = arg
                break
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _problem(error: dict) -> str:
    loc = tuple(p for p in error["loc"] if p not in ("function-after", "function-before"))
    name = _key_name(loc)
    field = str(loc[0]) if loc else name
    where = f"{ENV_PREFIX}{field.upper()}"
    if config_file().is_file():
        where += f" or {field} in {config_file()}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        model = _model_at(loc)
        close = difflib.get_close_matches(str(loc[-1]), sorted(model.model_fields), n=1) if model else []
        message = "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
    return f"{name} ({where}): {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; a value that does not fit its setting is a UserError naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        raise UserError("Invalid setting " + "; ".join(_problem(e) for e in exc.errors()) + ".") from None
