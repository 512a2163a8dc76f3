"""Settings from the environment (ODWATCH_*) and an optional TOML file.

Order of precedence: environment, then `ODWATCH_CONFIG` (a TOML file, default
`./odwatch.toml` when present), then the defaults below. Detector parameters and
scoring weights live in nested tables so an operator can tune them without code.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("ODWATCH_CONFIG", "odwatch.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ODWATCH_", extra="ignore")

    data_dir: Path = Path("var/odwatch")
    clickhouse_url: str = ""
    clickhouse_database: str = "odwatch"
    clickhouse_cluster: str = ""
    access_log_ttl_days: int = 0
    ingest_chunk_lines: int = 200_000
    # --- ingest: limits on hostile input, per file. Anyone who can drop a file in the spool can
    # send one: a 2 MB gzip file can expand to 2 GiB of empty lines.
    # A line longer than this is rejected ("line longer than N bytes"), however valid.
    ingest_max_line_bytes: int = 1024 * 1024
    # A compressed file is stopped when its content grows past this size...
    ingest_max_decompressed_bytes: int = 32 * 1024**3
    # ...or past this many times the compressed bytes read (real logs compress 5-30x).
    ingest_max_expansion_ratio: float = 100.0
    # Rejected lines stored verbatim in rejected_rows per file and reason; the rest are counted.
    ingest_rejects_stored_per_reason: int = 1000
    language: str = "zh"
    detectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    quality_weights: dict[str, float] = Field(default_factory=dict)
    evaluation_weights: dict[str, float] = Field(default_factory=dict)

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def chdb_dir(self) -> Path:
        return self.data_dir / "chdb"

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
        if _config_file().is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_config_file()))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
