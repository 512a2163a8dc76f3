"""The filters every report and page function takes, as one plain value.

The dashboard builds one from its sidebar; an `agency` user's filters always
carry their own agency_id, so scoping is enforced in the query, not the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta


@dataclass(frozen=True)
class ReportFilters:
    date_from: date
    date_to: date                      # inclusive
    agency_id: str | None = None
    domain: str | None = None
    dataset_id: str | None = None
    consumer_kind: str | None = None   # person | company | organisation | anonymous
    channel: str | None = None         # api | download

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> ReportFilters:
        today = today or date.today()
        return cls(date_from=today - timedelta(days=days - 1), date_to=today)

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
