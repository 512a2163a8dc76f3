"""Writing export files safely: the old file stays whole until the new one is complete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from odwatch.errors import UserError

FORMATS = ("pdf", "docx", "xlsx", "json", "csv")


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    fmt = (fmt or "").lower().lstrip(".")
    if fmt not in allowed:
        raise UserError(f"Unknown format {fmt!r}; choose one of: {', '.join(allowed)}.")
    return fmt


def write_atomically(out: Path, write: Callable[[Path], None]) -> Path:
    """Run `write(tmp)` on a temporary file beside `out`, then move it into place."""
    out = Path(out).expanduser()
    if out.is_dir():
        raise UserError(f"{out} is a directory; give a file name to write.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot create the folder {out.parent}: {exc.strerror}.") from exc
    handle, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"Cannot write {out}: {exc.strerror}.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out
