"""The one cache of data functions: a result is kept under the engine's data version.

A data function takes the client first and returns what it read through it; its result depends
only on the data and its other arguments. `@cached` keeps the result under (database, data
version, function, arguments). The version (warehouse.client.data_version) is read at every
call, before anything is computed, so a write this process has made (an upload, a confirmed
violation) is seen by the next call, on any page, in any session; and a result read while a write
was landing is kept under the version from before it, which the next call no longer asks for.
Pages and the background jobs share the cache: the evaluation the job computes is the one the
page shows.

Bounded: the least recently used results go first; `Settings.cache_entries` sets how many are
kept. Thread-safe: Streamlit serves each session on its own thread, and two asking for the same
key at once get one computation, the second waiting for the first.

Copies: every caller gets its own deep copy of the kept result, never the result itself. Pages
and reports change what they get (add columns in place, set a total, sort a list), and a change
must not reach another session. A copy is the rule that needs nothing of the callers; it is
cheap for what data functions return: a polars frame copies without its data (its buffers are
shared and never written), plain rows and dataclasses are small.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client

from odwatch.settings import get_settings
from warehouse.client import data_version

Function = TypeVar("Function", bound=Callable[..., Any])


class DataCache:
    """A bounded, thread-safe memo of data functions keyed by the data version read at each call."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[tuple, Any] = OrderedDict()
        self._computing: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def call(self, function: Callable[..., Any], client: Client, *args: Any, **kwargs: Any) -> Any:
        """`function(client, *args, **kwargs)`, computed once per data version; a copy of it."""
        key = (data_version(client), function, args, tuple(sorted(kwargs.items())))
        while True:
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return copy.deepcopy(self._kept[key])
                computing = self._computing.get(key)
                if computing is None:
                    mine = self._computing[key] = threading.Event()
                    break
            # Another thread computes it: take its result, or compute it when that one failed.
            computing.wait()
        try:
            value = function(client, *args, **kwargs)
            with self._lock:
                self._kept[key] = value
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        finally:
            with self._lock:
                del self._computing[key]
            mine.set()
        return copy.deepcopy(value)

    def wrap(self, function: Function) -> Function:
        """`function` with its results kept in this cache."""
        @functools.wraps(function)
        def kept(client: Client, *args: Any, **kwargs: Any) -> Any:
            return self.call(function, client, *args, **kwargs)
        return kept  # type: ignore[return-value]


_shared: DataCache | None = None
_shared_lock = threading.Lock()


def shared_cache() -> DataCache:
    """The process's cache, sized by the settings in force when it is first used."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DataCache(get_settings().cache_entries)
        return _shared


def cached(function: Function) -> Function:
    """Decorate a data function `f(client, ...)`: its results are kept in the process's cache.
    Its other arguments must be hashable (plain values, tuples, frozen dataclasses)."""
    @functools.wraps(function)
    def kept(client: Client, *args: Any, **kwargs: Any) -> Any:
        return shared_cache().call(function, client, *args, **kwargs)
    return kept  # type: ignore[return-value]


def clear() -> None:
    """Forget every kept result (benchmarks measure the paths without them)."""
    shared_cache().clear()
