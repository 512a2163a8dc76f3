"""The spool: where `odwatch ingest` leaves files while another process holds the engine.

chDB lets one process open a data directory. While `odwatch serve` runs, a
separate `odwatch ingest` cannot load anything itself, so it copies its files
into `<data dir>/spool/` and the serving process loads them (`ingest_spool`,
called by its background job). A file is copied under a temporary name and
renamed when complete, so the server never reads half a file. After loading, a
file moves to `spool/done/`; one that cannot be read moves to `spool/failed/`
with the reason beside it.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from datetime import datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client

from ingest.loader import IngestSummary, ingest_paths
from odwatch.errors import UserError
from odwatch.settings import Settings

_PARTIAL = ".part"
_SEPARATOR = "--"
_spool_lock = threading.Lock()


def drop_into_spool(settings: Settings, paths: list[Path], fmt: str | None = None) -> list[Path]:
    """Copy files into the spool for the process that holds the engine; returns the spooled paths."""
    spool = settings.spool_dir
    spool.mkdir(parents=True, exist_ok=True)
    dropped = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UserError(f"No such file: {path}")
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        target = spool / f"{stamp}-{uuid.uuid4().hex[:8]}-{fmt or 'auto'}{_SEPARATOR}{path.name}"
        partial = target.with_name(target.name + _PARTIAL)
        shutil.copyfile(path, partial)
        partial.rename(target)
        dropped.append(target)
    return dropped


def pending_files(settings: Settings) -> list[Path]:
    """Spooled files ready to load, oldest first."""
    spool = settings.spool_dir
    if not spool.is_dir():
        return []
    return sorted(
        p for p in spool.iterdir() if p.is_file() and not p.name.endswith(_PARTIAL) and _SEPARATOR in p.name
    )


def ingest_spool(client: Client, settings: Settings) -> list[IngestSummary]:
    """Load every file waiting in the spool; one summary per file."""
    summaries = []
    with _spool_lock:
        for path in pending_files(settings):
            fmt = path.name.split(_SEPARATOR, 1)[0].rsplit("-", 1)[-1]
            try:
                summary = ingest_paths(client, [path], None if fmt == "auto" else fmt, settings=settings)
            except UserError as exc:
                _move(path, settings.spool_dir / "failed").with_suffix(".reason.txt").write_text(
                    str(exc) + "\n", encoding="utf-8"
                )
                continue
            _move(path, settings.spool_dir / "done")
            summaries.append(summary)
    return summaries


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return path.rename(folder / path.name)
