"""Widgets shared by every page: tables with audited CSV / XLSX downloads, audited file downloads,
alert counts per severity."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import polars as pl
import streamlit as st

from dashboard.auth import address_key
from dashboard.session import (
    CONTACT_ROLES,
    FULL_IP_ROLES,
    MASKED_NAME_ROLES,
    client_address,
    current_user,
    get_settings,
)
from odwatch.clock import TIMEZONE
from odwatch.i18n import format_number, t
from odwatch.settings import Settings
from odwatch.vocabulary import SEVERITIES
from reports.export.tables import dataframe_to_csv_bytes, dataframe_to_xlsx_bytes
from warehouse import audit, connect

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_frame(data: Any) -> pl.DataFrame:
    """Polars frames pass through; pandas frames and lists of dicts are converted."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, list):
        return pl.DataFrame(data) if data else pl.DataFrame()
    return pl.from_pandas(data)


def _plain_times(df: pl.DataFrame) -> pl.DataFrame:
    # Spreadsheets have no time zones: write Shanghai wall-clock time.
    zoned = [name for name, dtype in df.schema.items()
             if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None]
    return df.with_columns(
        [pl.col(name).dt.convert_time_zone(TIMEZONE).dt.replace_time_zone(None) for name in zoned])


def _flatten(df: pl.DataFrame) -> pl.DataFrame:
    # Lists and structs become text: CSV cannot hold them and a spreadsheet cell shows one value.
    lists = [name for name, dtype in df.schema.items() if isinstance(dtype, (pl.List, pl.Array))]
    structs = [name for name, dtype in df.schema.items() if isinstance(dtype, pl.Struct)]
    return df.with_columns(
        [pl.col(name).cast(pl.List(pl.String)).list.join(", ") for name in lists]
        + [pl.col(name).struct.json_encode() for name in structs])


def csv_bytes(df: pl.DataFrame) -> bytes:
    """A table's rows as the CSV download: the reports' one writer (formulas neutralised)."""
    return dataframe_to_csv_bytes(_flatten(_plain_times(df)))


def xlsx_bytes(df: pl.DataFrame, sheet: str = "data") -> bytes:
    return dataframe_to_xlsx_bytes(_flatten(_plain_times(df)), sheet)


VIEWS_AUDITED_KEY = "odwatch_views_audited"


def audit_personal_view(screen: str, filters: Any, shows: tuple[str, ...]) -> None:
    """Audit that this user sees personal data unmasked on a screen (`shows`: "ip" full addresses,
    "names" natural persons' names, "contacts" reporters' contacts), with the role and the filters:
    once per session, screen and filters, not on every rerun. Nothing when the role sees it masked."""
    user = current_user()
    if user is None:
        return
    unmasked = [kind for kind in shows
                if (kind == "ip" and user.role in FULL_IP_ROLES)
                or (kind == "names" and user.role not in MASKED_NAME_ROLES)
                or (kind == "contacts" and user.role in CONTACT_ROLES)]
    if not unmasked:
        return
    detail = {"role": user.role, "shows": unmasked,
              "filters": {k: str(v) for k, v in vars(filters).items() if v is not None}}
    seen = st.session_state.setdefault(VIEWS_AUDITED_KEY, set())
    key = (screen, json.dumps(detail, sort_keys=True))
    if key not in seen:
        audit.record(connect(get_settings()), user.username, "view", "screen", screen, detail)
        seen.add(key)


def audited(make: Callable[[], bytes], settings: Settings, actor: str, name: str, fmt: str,
            detail: dict | None = None, signed_in: bool = True) -> Callable[[], bytes]:
    """Wrap a byte producer so producing the download writes an `export` audit entry (for a
    signed-out visitor, within the per-address allowance of `signin_audit_per_address`).

    Streamlit calls it when the user clicks (possibly off the script thread), so
    it captures the settings and actor instead of reading the session.
    """

    def produce() -> bytes:
        data = make()
        entry = {"format": fmt, "bytes": len(data), **(detail or {})}
        if signed_in:
            audit.record(connect(settings), actor, "export", "export", name, entry)
        else:
            audit.record_within(connect(settings), actor, "export", "export", name, entry,
                                settings.signin_audit_per_address,
                                timedelta(minutes=settings.signin_window_minutes))
        return data

    return produce


def download_button(label: str, make: Callable[[], bytes], file_name: str, mime: str, name: str,
                    key: str | None = None, detail: dict | None = None) -> None:
    """A download produced on click and audited (for reports, notices, lists)."""
    user = current_user()
    actor = user.username if user else f"visitor:{address_key(client_address())}"
    fmt = file_name.rsplit(".", 1)[-1]
    produce = audited(make, get_settings(), actor, name, fmt, detail, signed_in=user is not None)
    st.download_button(label, produce, file_name=file_name,
                       mime=mime, key=key or f"dl_{name}_{fmt}", on_click="ignore")


def table(df: Any, name: str, labels: dict[str, str] | None = None, key: str | None = None,
          height: int | None = None, shown: int | None = None) -> None:
    """A table with CSV and XLSX downloads of its rows.

    `labels` renames columns for display and export (e.g. to translated headers);
    `name` names the download files and the audit entries. With `shown`, only the first
    `shown` rows are drawn, a caption says so, and the downloads still hold every row.
    """
    frame = as_frame(df)
    if labels:
        frame = frame.rename({k: v for k, v in labels.items() if k in frame.columns})
    if frame.is_empty():
        st.info(t("shell.no_rows"))
        return
    # Shown in Shanghai wall-clock time, without the "+08:00" on every cell.
    sizing = {"height": height} if height else {}
    drawn = frame.head(shown) if shown is not None else frame
    st.dataframe(_plain_times(drawn), hide_index=True, width="stretch", **sizing)
    if drawn.height < frame.height:
        st.caption(t("shell.rows_shown", shown=format_number(drawn.height),
                     total=format_number(frame.height)))
    key = key or name
    left, right, _ = st.columns([1, 1, 6])
    rows = {"rows": frame.height}
    with left:
        download_button(t("shell.download_csv"), lambda: csv_bytes(frame), f"{name}.csv", CSV_MIME, name,
                        key=f"csv_{key}", detail=rows)
    with right:
        download_button(t("shell.download_xlsx"), lambda: xlsx_bytes(frame, name), f"{name}.xlsx", XLSX_MIME,
                        name, key=f"xlsx_{key}", detail=rows)


# CommonMark's escapable punctuation, plus what Streamlit reads in markdown: `:red[...]` colours,
# `:material/...:` icons and `$...$` formulas.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~:$])")


def plain(text: object) -> str:
    """Text from outside (a consumer's name, a field or scenario a caller sent, a reporter's contact)
    for a markdown element (st.markdown, st.caption, st.warning...): every character that could
    format, link or load an image is escaped, so it shows as typed (a bare address gets a zero-width
    space before its "://", so it is not made a link either)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")
    # Escapes do not stop GitHub-style autolinks of bare addresses: a zero-width space does.
    return escaped.replace("\\://", "\u200b\\://").replace("www\\.", "www\u200b\\.")


def user_error(exc: Exception) -> None:
    """Show a problem the user can act on as one sentence, never a traceback."""
    st.warning(plain(exc))


def severity_metrics(counts: dict[str, int], label_key: str) -> None:
    """One figure per severity, worst first; `label_key` is a message with a `{severity}` slot."""
    worst_first = tuple(reversed(SEVERITIES))
    for column, severity in zip(st.columns(len(worst_first)), worst_first, strict=True):
        column.metric(t(label_key, severity=t(f"pages.severity.{severity}")),
                      format_number(counts.get(severity, 0)))
