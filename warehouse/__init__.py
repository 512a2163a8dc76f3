"""ClickHouse storage: the client factory, migrations, query helpers and the audit chain."""

from warehouse.client import EngineBusy, connect, ensure_schema

__all__ = ["EngineBusy", "connect", "ensure_schema"]
