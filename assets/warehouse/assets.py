"""The `warehouse` group: the tables shipped from the realtime journal.

One op, `ship_journal`, produces all of them: the journal is read, verified
and decoded once per run and each table takes its event types. It can be
subset, so materialising one table ships only that one. The tables' checks run
in the same step, after the shipping (`assets.checks.TableCheck`); selecting only
checks runs them without shipping. A run the journal sensor asked for materialises
(and checks) only the tables it wrote rows to (`requested_by_sensor`).
"""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetExecutionContext

from assets.catalogue import WAREHOUSE_POOL
from assets.checks import requested_by_sensor, run_selected
from assets.metadata import table_definition_metadata
from assets.resources import JournalSource, Warehouse
from assets.warehouse.checks import WAREHOUSE_CHECKS
from assets.warehouse.projections import PROJECTIONS
from assets.warehouse.risk_rejections import rejection_summary
from assets.warehouse.shipping import ship, ship_log_summary
from assets.warehouse.tables import RISK_REJECTIONS, SHIP_LOG

GROUP = "warehouse"


@dg.multi_asset(
    name="ship_journal",
    can_subset=True,
    pool=WAREHOUSE_POOL,
    check_specs=[check.spec for check in WAREHOUSE_CHECKS],
    specs=[
        dg.AssetSpec(
            p.table.name,
            group_name=GROUP,
            skippable=True,
            description=(
                f"{p.table.description}\n\nShipped incrementally from the realtime journal "
                f"(event types: {', '.join(sorted(p.event_types))}): each run ships every "
                "event past the table's cursor in ship_log, exactly once."
            ),
            metadata=table_definition_metadata(p.table),
        )
        for p in PROJECTIONS
    ]
    + [
        dg.AssetSpec(
            SHIP_LOG.name,
            group_name=GROUP,
            skippable=True,
            description=(
                f"{SHIP_LOG.description}\n\nWritten with the rows of every shipped batch; "
                "its materialisation shows each table's cursor, how far it is behind the "
                "journal's head, and the newest batches."
            ),
            metadata=table_definition_metadata(SHIP_LOG),
        )
    ],
)
def ship_journal(
    context: AssetExecutionContext, warehouse: Warehouse, journal: JournalSource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    projections = [p for p in PROJECTIONS if p.table.name in selected]
    unchanged: set[str] = set()
    if projections:
        reports = ship(projections, journal, warehouse, run_id=context.run.run_id, log=context.log)
        quiet = requested_by_sensor(context)
        for name, report in reports.items():
            if quiet and report.rows == 0:
                unchanged.add(name)
                continue
            yield dg.MaterializeResult(
                asset_key=name,
                metadata={
                    **report.metadata(),
                    **(rejection_summary(warehouse) if name == RISK_REJECTIONS.name else {}),
                    "warehouse": dg.MetadataValue.text(warehouse.location),
                },
            )
        shipped_rows = any(r.rows for r in reports.values())
    else:
        quiet, shipped_rows = False, False
    if SHIP_LOG.name in selected and (shipped_rows or not quiet):
        yield dg.MaterializeResult(
            asset_key=SHIP_LOG.name, metadata=ship_log_summary(warehouse, journal)
        )
    yield from run_selected(context, WAREHOUSE_CHECKS, warehouse, journal, unchanged=unchanged)


WAREHOUSE_ASSETS = [ship_journal]
