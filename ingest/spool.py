"""The spool: where `odwatch ingest` leaves files while another process holds the engine.

chDB lets one process open a data directory. While `odwatch serve` runs, a
separate `odwatch ingest` cannot load anything itself, so it copies its files
into `<data dir>/spool/` and the serving process loads them (`ingest_spool`,
called by its background job). A file is copied under a temporary name and
renamed when complete, so the server never reads half a file; a mapping file or
encoding given with it travels beside it (`<name>.options`). After loading, a
file moves to `spool/done/`. A file that cannot be loaded, or that a limit stopped
part-way, is set aside in `spool/failed/` with the reason beside it
(`set_aside_files` lists them for the system page); it never holds up the files
after it.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client

from ingest.loader import IngestSummary, ingest_paths
from ingest.mapping import parse_mapping
from odwatch import clock
from odwatch.errors import UserError
from odwatch.settings import Settings

_PARTIAL = ".part"
_OPTIONS = ".options"
_REASON = ".reason.txt"
_SEPARATOR = "--"
_spool_lock = threading.Lock()


def drop_into_spool(settings: Settings, paths: list[Path], fmt: str | None = None, *,
                    mapping_file: Path | None = None, encoding: str | None = None) -> list[Path]:
    """Copy files into the spool for the process that holds the engine; returns the spooled paths."""
    spool = settings.spool_dir
    spool.mkdir(parents=True, exist_ok=True)
    options = {}
    if mapping_file is not None:
        options["mapping"] = Path(mapping_file).read_text(encoding="utf-8-sig")
        options["mapping_source"] = str(mapping_file)
    if encoding:
        options["encoding"] = encoding
    dropped = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UserError(f"No such file: {path}")
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")     # to the microsecond: loaded in the order given
        target = spool / f"{stamp}-{uuid.uuid4().hex[:8]}-{fmt or 'auto'}{_SEPARATOR}{path.name}"
        if options:
            _sidecar(target, _OPTIONS).write_text(json.dumps(options, ensure_ascii=False), encoding="utf-8")
        partial = target.with_name(target.name + _PARTIAL)
        shutil.copyfile(path, partial)
        partial.rename(target)
        dropped.append(target)
    return dropped


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def pending_files(settings: Settings) -> list[Path]:
    """Spooled files ready to load, oldest first."""
    spool = settings.spool_dir
    if not spool.is_dir():
        return []
    return sorted(
        p for p in spool.iterdir()
        if p.is_file() and _SEPARATOR in p.name and not p.name.endswith((_PARTIAL, _OPTIONS))
    )


def ingest_spool(client: Client, settings: Settings) -> list[IngestSummary]:
    """Load every file waiting in the spool; one summary per file loaded (a stopped file's too)."""
    summaries = []
    with _spool_lock:
        for path in pending_files(settings):
            try:
                summary = _ingest_one(client, settings, path)
            except Exception as exc:  # noqa: BLE001 - one bad file is set aside, never blocks the rest
                reason = (str(exc) if isinstance(exc, UserError)
                          else f"could not be loaded ({type(exc).__name__}: {exc})")
                _set_aside(settings, path, reason)
                continue
            if summary.stopped:
                stop = summary.stopped[0]
                before = f"the {summary.read - 1:,} lines before it were read and accounted for"
                _set_aside(settings, path, f"line {stop['line']}: {stop['reason']} ({before})")
            else:
                _move(path, settings.spool_dir / "done")
                _sidecar(path, _OPTIONS).unlink(missing_ok=True)
            summaries.append(summary)
    return summaries


def _ingest_one(client: Client, settings: Settings, path: Path) -> IngestSummary:
    fmt = path.name.split(_SEPARATOR, 1)[0].rsplit("-", 1)[-1]
    options_file = _sidecar(path, _OPTIONS)
    options = json.loads(options_file.read_text(encoding="utf-8")) if options_file.is_file() else {}
    mapping = parse_mapping(options["mapping"], options.get("mapping_source", "mapping")) \
        if "mapping" in options else None
    return ingest_paths(client, [path], None if fmt == "auto" else fmt, settings=settings,
                        mapping=mapping, encoding=options.get("encoding"))


def _set_aside(settings: Settings, path: Path, reason: str) -> None:
    failed = settings.spool_dir / "failed"
    moved = _move(path, failed)
    options = _sidecar(path, _OPTIONS)
    if options.is_file():
        _move(options, failed)
    _sidecar(moved, _REASON).write_text(reason + "\n", encoding="utf-8")


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return path.rename(folder / path.name)


@dataclass
class SetAsideFile:
    """A spooled file that was set aside, and why (for the system page)."""

    name: str          # the file's own name, as it was given to `odwatch ingest`
    path: Path
    reason: str
    set_aside_at: datetime
    size: int


def set_aside_files(settings: Settings) -> list[SetAsideFile]:
    """The files in spool/failed/, newest first, with their reasons."""
    failed = settings.spool_dir / "failed"
    if not failed.is_dir():
        return []
    found = []
    for path in failed.iterdir():
        if not path.is_file() or path.name.endswith((_REASON, _OPTIONS)):
            continue
        reason_file = _sidecar(path, _REASON)
        reason = (reason_file.read_text(encoding="utf-8").strip() if reason_file.is_file()
                  else "(no reason recorded)")
        when = reason_file if reason_file.is_file() else path
        found.append(SetAsideFile(
            name=path.name.split(_SEPARATOR, 1)[-1], path=path, reason=reason,
            set_aside_at=datetime.fromtimestamp(when.stat().st_mtime, tz=clock.SHANGHAI),
            size=path.stat().st_size,
        ))
    return sorted(found, key=lambda f: f.set_aside_at, reverse=True)
