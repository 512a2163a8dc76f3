"""Hand-built access logs for the pattern-detector tests, inserted straight into the warehouse."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta

from detectors.base import Window
from odwatch.clock import SHANGHAI

COLUMNS = ["event_id", "ts", "consumer_id", "key_id", "dataset_id", "channel", "endpoint", "method",
           "status", "latency_ms", "rows", "bytes", "fields", "scenario", "client_ip", "user_agent",
           "params", "batch_id"]
_ids = itertools.count()


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def event(ts: datetime, consumer_id: str = "", dataset_id: str = "d1", *, key_id: str = "",
          client_ip: str = "10.1.1.1", status: int = 200, rows: int = 10, params: dict | None = None,
          channel: str = "api", endpoint: str = "/api/v1/query", bytes_: int = 2000, latency_ms: int = 40,
          user_agent: str = "python-requests/2.31", fields: list[str] | None = None) -> list:
    return [f"ev{next(_ids)}", ts, consumer_id, key_id or (f"k-{consumer_id}" if consumer_id else ""),
            dataset_id, channel, endpoint, "GET", status, latency_ms, rows, bytes_, fields or [], "",
            client_ip, user_agent, json.dumps(params or {}), "test"]


def insert(client, events: list[list]) -> None:
    client.insert("access_log", events, column_names=COLUMNS)


def add_datasets(client, rows: list[tuple[str, str, str, int]]) -> None:
    """(dataset_id, agency_id, open_class, row_count)"""
    client.insert("datasets", [[d, a, c, n] for d, a, c, n in rows],
                  column_names=["dataset_id", "agency_id", "open_class", "row_count"])


def daytime_habit(consumer_id: str, first: date, days: int, per_hour: int, dataset_id: str = "d1",
                  client_ip: str = "10.1.1.1", hours=range(9, 18), rows: int = 10,
                  skip_holidays: bool = False) -> list[list]:
    """A steady daytime user: `per_hour` calls in each working hour, reading pages 1-3."""
    from chinese_calendar import is_holiday
    events = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if skip_holidays and is_holiday(day):
            continue
        for hour in hours:
            for n in range(per_hour):
                events.append(event(at(day, hour, (n * 7) % 60, n % 60), consumer_id, dataset_id,
                                    client_ip=client_ip, rows=rows,
                                    params={"page": n % 3 + 1, "page_size": 10}))
    return events


def whole_days(first: date, last: date, lookback: timedelta = timedelta(0)) -> Window:
    """The days first..last as the runner hands them to a detector: widened by its look-back."""
    return Window(at(first, 0), at(last + timedelta(days=1), 0)).widened(lookback)


RECORDS = "/api/v1/datasets/d1/records"


def lawful_searches(last_day: date, days: int = 8) -> list[list]:
    """A week (or `days`) of anonymous searches on one endpoint up to `last_day`: Chinese place names,
    dates, page numbers, and free text with apostrophes and angle brackets that are not attacks."""
    texts = ["浦东新区", "O'Brien", "Xi'an 公交", "price < 500", "children's hospital", "Tom & Jerry",
             "徐汇区 学校"]
    events = []
    for d in range(days):
        day = last_day - timedelta(days=days - 1 - d)
        for n in range(60):
            events.append(event(at(day, 9 + n % 9, n), "", "d1", client_ip=f"198.51.100.{n % 30 + 1}",
                                endpoint=RECORDS, params={"q": texts[n % len(texts)], "page": n % 5 + 1,
                                                          "date": f"2026-03-{n % 28 + 1:02d}"}))
    return events
