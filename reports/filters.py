"""The filters every report and page function takes, as one plain value.

The dashboard builds one from its sidebar; an `agency` user's filters always
carry their own agency_id, so scoping is enforced in the query, not the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date                      # inclusive
    agency_id: str | None = None
    domain: str | None = None
    dataset_id: str | None = None
    consumer_kind: str | None = None   # person | company | organisation | anonymous
    channel: str | None = None         # api | download

    def scoped_to(self, agency_id: str) -> ReportFilters:
        return replace(self, agency_id=agency_id)

    def as_params(self) -> dict:
        """Query parameters; empty strings mean "no filter" in the SQL (`{x:String} = '' OR ...`)."""
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "agency_id": self.agency_id or "",
            "domain": self.domain or "",
            "dataset_id": self.dataset_id or "",
            "consumer_kind": self.consumer_kind or "",
            "channel": self.channel or "",
        }

    @property
    def registered_kind(self) -> bool:
        """A consumer kind other than anonymous: only consumer-grain tables can answer it."""
        return bool(self.consumer_kind) and self.consumer_kind != "anonymous"

    def conditions(self, grain: str) -> str:
        """`AND ...` lines for the filters that are set, for a table of this grain.

        Only the conditions of set filters are written, because the engine does not fold
        `{x:String} = '' OR column = {x:String}` away and pays for it on every row. Values stay
        query parameters (`as_params`); only the fixed text of each condition is chosen here.
        Grains: 'consumer' (a consumer_id column), 'dataset' (a consumer_kind column, no
        consumer), 'visitor' (an `anonymous` flag and the visitor hash of visitor_presence),
        'platform' (channel and an `anonymous` flag only; a registered kind cannot be told there).
        """
        found = []
        if grain != "platform":
            if self.dataset_id:
                found.append("dataset_id = {dataset_id:String}")
            catalog = [c for c, value in (("agency_id = {agency_id:String}", self.agency_id),
                                          ("domain = {domain:String}", self.domain)) if value]
            if catalog:
                chosen = " AND ".join(catalog)
                found.append(f"dataset_id IN (SELECT dataset_id FROM datasets FINAL WHERE {chosen})")
        if self.channel:
            found.append("channel = {channel:String}")
        if self.consumer_kind:
            found.append(_KIND_CONDITIONS[grain][self.registered_kind])
        return "".join(f"\n  AND {condition}" for condition in found)


KIND_CONSUMERS = "SELECT consumer_id FROM consumers FINAL WHERE kind = {consumer_kind:String}"
# Per grain: (the anonymous condition, a registered kind's condition).
_KIND_CONDITIONS = {
    "consumer": ("consumer_id = ''", f"consumer_id IN ({KIND_CONSUMERS})"),
    "dataset": ("consumer_kind = 'anonymous'", "consumer_kind = {consumer_kind:String}"),
    "platform": ("anonymous", "false"),
    "visitor": ("anonymous", "NOT anonymous AND visitor IN (SELECT sipHash64(consumer_id) "
                             "FROM consumers FINAL WHERE kind = {consumer_kind:String})"),
}
