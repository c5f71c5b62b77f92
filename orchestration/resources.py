"""Resources, chosen by deployment in this one place from the settings.

Assets ask for `warehouse`, `journal`, `inbox` and `service` by name and never learn
which implementation they got; the classes live with the assets (`assets.resources`).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from assets.resources import (
    DuckDBWarehouse,
    Inbox,
    JournalSource,
    QuestDBWarehouse,
    ServiceBook,
    Warehouse,
)
from orchestration.settings import Settings
from realtime.layout import resolve

_QUESTDB_OPTIONS = frozenset(
    {"pg_port", "pg_user", "pg_password", "pg_database", "tls", "protocol_version"}
    | {"username", "password", "token", "request_rows"}
)


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "warehouse": warehouse_from_url(settings.warehouse_url),
        "journal": JournalSource(
            path=str(settings.journal_path),
            batch_rows=settings.batch_rows,
            batch_bytes=settings.batch_bytes,
        ),
        "inbox": Inbox(ticks_dir=str(settings.tick_inbox), alt_dir=str(settings.alt_inbox)),
        "service": ServiceBook(url=settings.service_url, api_keys=dict(settings.service_keys)),
    }


def warehouse_from_url(url: str) -> Warehouse:
    """`duckdb://<path>` or `questdb://host[:http_port][?option=value...]`
    (the forms are listed in `orchestration.settings`)."""
    scheme, _, rest = url.partition("://")
    if scheme == "duckdb":
        if not rest or rest.startswith("?"):
            raise ValueError(f"TRADEPIPE_WAREHOUSE={url!r}: duckdb:// needs a file path")
        # The one relative-path rule of the project (realtime.layout).
        return DuckDBWarehouse(path=str(resolve(unquote(rest))))
    if scheme == "questdb":
        return _questdb_from_url(url)
    raise ValueError(
        f"TRADEPIPE_WAREHOUSE={url!r}: expected duckdb:///path/to/file.duckdb "
        "or questdb://host:9000?pg_port=8812"
    )


def _questdb_from_url(url: str) -> QuestDBWarehouse:
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"TRADEPIPE_WAREHOUSE={url!r}: questdb:// needs a host")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - _QUESTDB_OPTIONS)
    if unknown:
        raise ValueError(f"TRADEPIPE_WAREHOUSE: unknown questdb options {unknown}")
    fields: dict[str, object] = {"host": parts.hostname}
    if parts.port is not None:
        fields["http_port"] = parts.port
    for key, value in options.items():
        if key in {"pg_port", "protocol_version", "request_rows"}:
            fields[key] = int(value)
        elif key == "tls":
            fields[key] = value.lower() in {"1", "on", "true", "yes"}
        else:
            fields[key] = value
    return QuestDBWarehouse(**fields)  # type: ignore[arg-type]
