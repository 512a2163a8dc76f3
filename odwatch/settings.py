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
import tomllib
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
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
    # Failed and refused sign-ins written to the audit trail per address and window.
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
    report_issuer: str = "上海市经济和信息化委员会"
    report_date: date | None = None

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


def _problem(error: dict) -> str:
    name = ".".join(str(part) for part in error["loc"])
    field = str(error["loc"][0]) if error["loc"] else name
    where = f"{ENV_PREFIX}{field.upper()}"
    if config_file().is_file():
        where += f" or {field} in {config_file()}"
    return f"{name} ({where}): {error['msg']}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; a value that does not fit its setting is a UserError naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        raise UserError("Invalid setting " + "; ".join(_problem(e) for e in exc.errors()) + ".") from None
