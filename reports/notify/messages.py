"""What a notification says: one `Message` (a title, labelled lines, a link), rendered per channel as
plain text, markdown (企业微信 and 钉钉 robots) or HTML (e-mail).

Every word comes from the message catalog (odwatch/locales/notify.*.json) in the channel's
language, Chinese by default. A message names people only as the violation notice does: a natural
person's name masked, an anonymous caller by its network (203.0.*.*), an API key by its first
characters; no reporter contact, no free text a person typed.
"""

from __future__ import annotations

import contextvars
import html
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, TypeVar

from detectors.violations import mask_ip, mask_key, mask_person_name
from odwatch.i18n import format_date, format_datetime, format_number, set_language, t

T = TypeVar("T")
WECOM_MARKDOWN_BYTES = 4096        # 企业微信: markdown content at most 4096 bytes (UTF-8)
DINGTALK_MARKDOWN_BYTES = 20000


@dataclass(frozen=True)
class Message:
    kind: str                                   # alert_group | escalation | daily_digest | ...
    title: str
    lines: list[tuple[str, str]]                # (label, value) in reading order
    intro: str = ""
    link: str = ""
    severity: str = ""
    data: dict[str, Any] = field(default_factory=dict)     # for the generic webhook's JSON

    def text(self) -> str:
        parts = [self.title, ""]
        if self.intro:
            parts += [self.intro, ""]
        parts += [f"{label}：{value}" for label, value in self.lines]
        if self.link:
            parts += ["", f"{t('notify.link')}：{self.link}"]
        return "\n".join(parts)

    def markdown(self, line_break: str = "\n") -> str:
        parts = [f"### {self.title}"]
        if self.intro:
            parts.append(self.intro)
        parts += [f"> **{label}**：{value}" for label, value in self.lines]
        if self.link:
            parts.append(f"[{t('notify.link')}]({self.link})")
        return line_break.join(parts)

    def html(self) -> str:
        rows = "".join(f"<tr><th align=\"left\" style=\"padding:4px 12px 4px 0\">{html.escape(label)}</th>"
                       f"<td>{html.escape(value)}</td></tr>" for label, value in self.lines)
        intro = f"<p>{html.escape(self.intro)}</p>" if self.intro else ""
        link = (f"<p><a href=\"{html.escape(self.link, quote=True)}\">{html.escape(t('notify.link'))}</a></p>"
                if self.link else "")
        return (f"<html><body><h3>{html.escape(self.title)}</h3>{intro}<table>{rows}</table>{link}"
                f"<p style=\"color:#888\">{html.escape(t('notify.footer'))}</p></body></html>")

    def rendered(self) -> dict[str, Any]:
        """Every form a channel may send, rendered now (in the language in force): what the outbox
        stores, so what was sent is what is kept."""
        own = {f.name: getattr(self, f.name) for f in fields(self)}      # stored as JSON: no deep copy
        return {**own, "text": self.text(), "markdown": self.markdown(), "html": self.html()}


def in_language(lang: str, render: Callable[[], T]) -> T:
    """Run `render` with the catalog speaking `lang`, leaving the caller's language alone."""
    def run() -> T:
        set_language(lang)
        return render()

    return contextvars.copy_context().run(run)


def fit(text: str, limit_bytes: int) -> str:
    """Cut a markdown text to a robot's byte limit, on a character boundary, saying so."""
    if len(text.encode("utf-8")) <= limit_bytes:
        return text
    mark = "\n……"
    cut = text.encode("utf-8")[: limit_bytes - len(mark.encode("utf-8"))].decode("utf-8", errors="ignore")
    return cut + mark


def severity_label(severity: str) -> str:
    return t(f"pages.severity.{severity}") if severity else "—"


def category_label(category: str) -> str:
    return t(f"pages.triage.cat.{category}")


def entity_label(group: dict[str, Any]) -> str:
    """Who the alerts concern, as a message may name them."""
    if group.get("consumer_id"):
        name = group.get("consumer_name") or group["consumer_id"]
        if group.get("consumer_kind") in ("company", "organisation"):
            return name
        return mask_person_name(name) if group.get("consumer_name") else group["consumer_id"]
    if group.get("key_id"):
        return t("notify.entity.key", key=mask_key(group["key_id"]))
    return t("notify.entity.anonymous", ip=mask_ip(group.get("client_ip", "")))


def alert_link(dashboard_url: str, alert_id: str) -> str:
    return f"{dashboard_url.rstrip('/')}/triage?alert={alert_id}"


def _window(group: dict[str, Any]) -> str:
    return f"{format_datetime(group['first_window'])} – {format_datetime(group['last_window'])}"


def _group_lines(group: dict[str, Any]) -> list[tuple[str, str]]:
    dataset = group.get("dataset_name") or group.get("dataset_id") or "—"
    agency = group.get("agency_name") or group.get("agency_id") or "—"
    return [
        (t("notify.field.category"), f"{category_label(group['category'])}（{group['article']}）"),
        (t("notify.field.severity"), severity_label(group["severity"])),
        (t("notify.field.entity"), entity_label(group)),
        (t("notify.field.dataset"), dataset),
        (t("notify.field.agency"), agency),
        (t("notify.field.window"), _window(group)),
        (t("notify.field.alerts"), t("notify.count", n=format_number(group["alerts"]))),
    ]


def _group_data(group: dict[str, Any], link: str) -> dict[str, Any]:
    return {"group_key_hash": group["group_id"], "category": group["category"], "severity": group["severity"],
            "alerts": group["alerts"], "alert_id": group["latest_alert_id"],
            "dataset_id": group["dataset_id"],
            "agency_id": group["agency_id"], "day": group["day"].isoformat(), "entity": entity_label(group),
            "link": link}


def alert_group_message(group: dict[str, Any], dashboard_url: str) -> Message:
    """One message for a new alert group (its alerts of one day), never one per alert."""
    link = alert_link(dashboard_url, group["latest_alert_id"])
    title = t("notify.alert.subject", severity=severity_label(group["severity"]),
              category=category_label(group["category"]), entity=entity_label(group))
    return Message("alert_group", title, _group_lines(group), t("notify.alert.intro"), link,
                   group["severity"], _group_data(group, link))


def escalation_message(group: dict[str, Any], dashboard_url: str, first_seen: datetime,
                       deadline: datetime) -> Message:
    link = alert_link(dashboard_url, group["latest_alert_id"])
    title = t("notify.escalation.subject", severity=severity_label(group["severity"]),
              category=category_label(group["category"]), entity=entity_label(group))
    intro = t("notify.escalation.intro", since=format_datetime(first_seen),
              deadline=format_datetime(deadline))
    lines = [*_group_lines(group), (t("notify.field.first_seen"), format_datetime(first_seen)),
             (t("notify.field.deadline"), format_datetime(deadline))]
    data = {**_group_data(group, link), "first_seen": first_seen.isoformat(),
            "deadline": deadline.isoformat()}
    return Message("escalation", title, lines, intro, link, group["severity"], data)


def daily_digest_message(day: date, figures: dict[str, int], dashboard_url: str) -> Message:
    """What was opened, acknowledged, confirmed, dismissed and escalated on one day."""
    lines = [(t(f"notify.digest.{key}"), t("notify.count", n=format_number(figures[key])))
             for key in ("opened", "critical", "acknowledged", "confirmed", "dismissed", "escalated",
                         "violations", "open_now")]
    title = t("notify.digest.subject", day=format_date(day))
    return Message("daily_digest", title, lines, t("notify.digest.intro", day=format_date(day)),
                   f"{dashboard_url.rstrip('/')}/triage", "", {"day": day.isoformat(), **figures})


def operation_report_message(month: str, summary: list[tuple[str, str]], dashboard_url: str,
                             attached: bool) -> Message:
    year, number = month.split("-")
    title = t("notify.operation.subject", year=year, month=int(number))
    intro = t("notify.operation.attached" if attached else "notify.operation.not_attached")
    return Message("operation_report", title, summary, intro, f"{dashboard_url.rstrip('/')}/usage", "",
                   {"month": month})


def agency_digest_message(month: str, agency_name: str, agency_id: str, figures: list[tuple[str, str]],
                          dashboard_url: str) -> Message:
    year, number = month.split("-")
    title = t("notify.agency.subject", agency=agency_name, year=year, month=int(number))
    return Message("agency_digest", title, figures, t("notify.agency.intro"),
                   f"{dashboard_url.rstrip('/')}/applications", "", {"month": month, "agency_id": agency_id})


def checkpoint_message(chain: str, seq: int, head: str, at: str, line: str, dashboard_url: str) -> Message:
    """An audit checkpoint, to be kept where the machine's administrators cannot reach it."""
    return Message("audit_checkpoint", t("notify.checkpoint.subject", seq=seq),
                   [(t("notify.checkpoint.seq"), str(seq)), (t("notify.checkpoint.head"), head),
                    (t("notify.checkpoint.at"), at), (t("notify.checkpoint.line"), line)],
                   t("notify.checkpoint.intro"), dashboard_url, "",
                   {"chain": chain, "seq": seq, "line": line})


def test_message(channel_name: str, at: datetime, dashboard_url: str) -> Message:
    return Message("test", t("notify.test.subject"),
                   [(t("notify.field.channel"), channel_name),
                    (t("notify.field.sent_at"), format_datetime(at))],
                   t("notify.test.intro"), dashboard_url, "", {"channel": channel_name})
