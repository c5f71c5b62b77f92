"""Resilience: shipping again what was shipped adds no rows (the warehouse's upsert keys
make a re-shipped batch replace itself, as after a lost cursor or a retried run), and a
full venue queue answers 429 and recovers (suites/queue_full.py), and a restarted
service recovers from its journal with nothing lost (suites/restart.py: the launcher
restarts it; a platform it did not start gets a WARN-level skip, "not applicable").
"""

from __future__ import annotations

from assets.validation.config import ValidationConfig
from assets.validation.platform import Platform
from assets.validation.results import CheckResult, outcome
from assets.validation.suites.queue_full import queue_full
from assets.validation.suites.restart import restart_recovers
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.shipping import shipped_through
from assets.warehouse.tables import SHIP_LOG

# How far back each table is shipped again: its newest events, a bounded amount of work.
RESHIP_EVENTS = 5_000


def resilience(platform: Platform, config: ValidationConfig) -> list[CheckResult]:
    # Each check on its own: one that raises fails alone, the others still run.
    checks = (
        ("resilience_reship_adds_no_rows", _reship),
        ("resilience_queue_full_429", queue_full),
        ("resilience_restart_recovers", restart_recovers),
    )
    results = []
    for name, check in checks:
        try:
            results.append(check(platform, config))
        except Exception as exc:  # a store or probe failure: this check's reason
            results.append(outcome(config[name], False, f"raised {type(exc).__name__}: {exc}"))
    return results


def _reship(platform: Platform, config: ValidationConfig) -> CheckResult:
    check = config["resilience_reship_adds_no_rows"]
    warehouse, journal = platform.warehouse, platform.journal
    # a warehouse nothing has shipped to yet has no ship_log: "nothing shipped", below
    warehouse.ensure_schema([SHIP_LOG])
    grew, seen = [], {}
    for p in PROJECTIONS:
        cursor = shipped_through(warehouse, p.table)
        if not cursor:
            continue
        before = warehouse.row_count(p.table)
        again = 0
        for batch in journal.batches(
            p.event_types, after_seq=max(0, cursor - RESHIP_EVENTS), upto_seq=cursor
        ):
            frame = p.to_frame(batch.select(p.event_types))
            warehouse.write_frame(p.table, frame)
            again += len(frame)
        after = warehouse.row_count(p.table)
        seen[p.table.name] = {"reshipped": again, "rows_before": before, "rows_after": after}
        if after != before:
            grew.append(f"{p.table.name}: {before} -> {after} rows after re-shipping {again}")
    if not seen:
        return outcome(check, False, "nothing shipped yet to ship again")
    return outcome(
        check,
        not grew,
        "; ".join(grew)
        or f"re-shipped {sum(v['reshipped'] for v in seen.values())} rows: none added",
        extra={"tables": seen},
    )
