"""Alert text in the reader's language.

An alert is stored with a message key of the catalog (`alerts.<category>…` in
odwatch/locales/alerts.*.json) and its parameters, never as a sentence: the
title is rendered here at display and export time, Chinese by default. A reader
sees names, not raw ids: `{who}` becomes the consumer's name (or "anonymous
address …"), `{dataset}` the dataset's name, when the row carries them
(`consumer_name`, `dataset_name`, joined by the store); the ids stay in the
alert's fields and evidence. An alert stored before messages existed has only
its title, and shows it as it was.

Parameter conventions: numbers are formatted by the template (`{rows:,}`); a
list is joined in the language's way, each item translated when the catalog has
`alerts.term.<item>`; `holiday` is a statutory holiday's English name and is
shown in Chinese in Chinese text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import chinese_calendar

from odwatch.i18n import DEFAULT_LANGUAGE, catalog, current_language, format_number

LIST_SEPARATOR = {"zh": "、", "en": ", "}
HOLIDAY_NAMES_ZH = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


def text(message_key: str, lang: str | None = None, /, **params: Any) -> str:
    """One catalog message in `lang` (the context's language by default), with its fields filled in."""
    lang = lang or current_language()
    template = catalog(lang).get(message_key) or catalog(DEFAULT_LANGUAGE).get(message_key) or message_key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A template and its parameters out of step (an alert stored by an older version) still reads.
        return template


def term(item: Any, lang: str) -> str:
    """A vocabulary word (a feature, an attack class, a field) in the language, or itself."""
    key = f"alerts.term.{item}"
    return catalog(lang).get(key) or str(item)


def parameters(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The alert's message parameters as a dict (stored as JSON text)."""
    params = alert.get("message_params") or {}
    if isinstance(params, str):
        try:
            params = json.loads(params or "{}")
        except json.JSONDecodeError:
            params = {}
    return dict(params)


def who(alert: Mapping[str, Any], lang: str) -> str:
    """The entity as a reader names it: the consumer's name, a key, an address or a network."""
    consumer_id = alert.get("consumer_id") or ""
    if consumer_id:
        return alert.get("consumer_name") or consumer_id
    if alert.get("key_id"):
        return text("alerts.who.key", lang, key=alert["key_id"])
    address = alert.get("client_ip") or ""
    if "/" in address:
        return text("alerts.who.network", lang, network=address)
    return text("alerts.who.anonymous", lang, ip=address) if address else text("alerts.who.unknown", lang)


def _readable(name: str, value: Any, lang: str) -> Any:
    if isinstance(value, list):
        return LIST_SEPARATOR.get(lang, ", ").join(str(term(v, lang)) for v in value)
    if name == "holiday" and lang == "zh":
        return HOLIDAY_NAMES_ZH.get(value, value) if value else text("alerts.term.holiday", lang)
    if name == "holiday" and not value:
        return text("alerts.term.holiday", lang)
    return value


def alert_title(alert: Mapping[str, Any], lang: str | None = None) -> str:
    """The alert's title in `lang` (the context's language by default).

    `alert` is a stored alert row (or `Alert.as_row()`): its message key and
    parameters, its entity and dataset ids, and where known `consumer_name` and
    `dataset_name`.
    """
    lang = lang or current_language()
    key = alert.get("message_key") or ""
    if not key:
        return alert.get("title") or ""
    params = {name: _readable(name, value, lang) for name, value in parameters(alert).items()}
    dataset_id = alert.get("dataset_id") or params.pop("dataset_id", "")
    context = {
        "who": who(alert, lang),
        # A web server's log names no dataset: say so rather than leave a hole in the sentence.
        "dataset": alert.get("dataset_name") or dataset_id or text("alerts.unidentified_dataset", lang),
        "consumer": alert.get("consumer_name") or alert.get("consumer_id") or "",
        **params,
    }
    return text(key, lang, **context)


def evidence_lines(evidence: Mapping[str, Any], lang: str | None = None) -> list[dict[str, str]]:
    """The evidence a reader scans first, as (label, value) rows in the language: every item the
    catalog has a label for (`alerts.evidence.<name>`), in the evidence's order."""
    lang = lang or current_language()
    labels = catalog(lang)
    rows = []
    for name, value in evidence.items():
        label = labels.get(f"alerts.evidence.{name}")
        if label is None or value in (None, "", [], {}):
            continue
        rows.append({"item": label, "value": _value_text(value, lang)})
    return rows


def _value_text(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return text("alerts.term.yes" if value else "alerts.term.no", lang)
    if isinstance(value, int | float):
        return format_number(value)
    if isinstance(value, list):
        shown = [_value_text(v, lang) if not isinstance(v, dict) else _pairs(v, lang) for v in value[:20]]
        more = len(value) - len(shown)
        joined = LIST_SEPARATOR.get(lang, ", ").join(shown)
        return joined + (text("alerts.term.more", lang, n=more) if more > 0 else "")
    if isinstance(value, dict):
        return _pairs(value, lang)
    return str(term(value, lang))


def _pairs(mapping: Mapping[str, Any], lang: str) -> str:
    return LIST_SEPARATOR.get(lang, ", ").join(
        f"{term(k, lang)}: {_value_text(v, lang)}" for k, v in list(mapping.items())[:20])
