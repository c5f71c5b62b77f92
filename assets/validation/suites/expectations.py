"""The Great Expectations 1.x suite of each warehouse table, built from its declaration.

Every table gets: its exact column set (schema), non-null and unique keys (the journal
seq, or the table's keys), non-null designated timestamps, and value ranges of the
columns that have one (prices > 0, sizes and quantities >= 0). GE runs on an
ephemeral context, one pandas data source and one batch (the table's newest rows) per
table, through a Checkpoint whose action builds the data docs under `docs_dir`.

GE is imported inside the function: it takes seconds to import, and the code location
(every asset module) must load fast.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from assets.resources import ColumnType, TableSpec

# Columns with a range, by name: (min, strict): a price must be > 0, a size >= 0.
_RANGES: dict[str, tuple[float, bool]] = {
    "price": (0.0, True),
    "bid": (0.0, True),
    "ask": (0.0, True),
    "fill_price": (0.0, True),
    "size": (0.0, False),
    "bid_size": (0.0, False),
    "ask_size": (0.0, False),
    "quantity": (0.0, False),
    "notional": (0.0, False),
    "fee": (0.0, False),
    "row_count": (0.0, False),
}
SITE = "validation"


@dataclass(frozen=True, slots=True)
class TableOutcome:
    table: str
    success: bool
    rows: int
    failed: list[str]  # "expectation(column): what was seen"
    docs_page: str | None


def _expectations(table: TableSpec, ranged: bool) -> list[Any]:
    import great_expectations.expectations as expectations

    # GE re-exports the expectation classes without an __all__, which mypy refuses.
    gxe: Any = expectations

    out: list[Any] = [
        gxe.ExpectTableColumnsToMatchSet(column_set=list(table.column_names), exact_match=True),
        gxe.ExpectColumnValuesToNotBeNull(column=table.timestamp),
    ]
    out += [gxe.ExpectColumnValuesToNotBeNull(column=key) for key in table.keys]
    if len(table.keys) == 1:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=table.keys[0]))
    else:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(table.upsert_keys)))
    for column in table.columns:
        bound = _RANGES.get(column.name)
        if ranged and bound and column.type in (ColumnType.LONG, ColumnType.DOUBLE):
            out.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column.name, min_value=bound[0], strict_min=bound[1]
                )
            )
    return out


def run_expectations(
    frames: Mapping[str, tuple[TableSpec, pd.DataFrame]],
    docs_dir: Path,
    ranged: Collection[str],
) -> dict[str, TableOutcome]:
    """Validate each frame against its table's suite; build the data docs. Value ranges
    apply to the `ranged` tables (the journal's and the inboxes': raw market and order
    data, where a negative price or size is always wrong)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no network, ever
    import great_expectations as gx
    from great_expectations.checkpoint.actions import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = context.data_sources.add_pandas("warehouse")
    definitions = []
    for name, (table, _) in frames.items():
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(
            gx.ExpectationSuite(name=name, expectations=_expectations(table, name in ranged))
        )
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=suite)
            )
        )
    outcomes: dict[str, TableOutcome] = {}
    for definition in definitions:
        name = definition.name
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}_checkpoint",
                validation_definitions=[definition],
                actions=[UpdateDataDocsAction(name="docs", site_names=[SITE])],
            )
        )
        frame = frames[name][1]
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        for identifier, run in result.run_results.items():
            failed = [_failure(r) for r in run.results if not r.success]
            page = docs_dir / "validations" / f"{identifier.to_tuple()[0]}"
            outcomes[name] = TableOutcome(
                name, bool(run.success), len(frame), failed, _page(docs_dir, page)
            )
    return outcomes


def _failure(result: Any) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column") or config.kwargs.get("column_list") or ""
    seen = result.result or {}
    if "unexpected_count" in seen:
        sample = seen.get("partial_unexpected_list", [])[:5]
        what = f"{seen['unexpected_count']} unexpected, e.g. {sample}"
    else:
        what = f"observed {seen.get('observed_value')}"
    return f"{config.type}({column}): {what}"


def _page(docs_dir: Path, folder: Path) -> str | None:
    pages: Sequence[Path] = sorted(folder.rglob("*.html"), key=lambda p: p.stat().st_mtime)
    return str(pages[-1]) if pages else str(docs_dir / "index.html")
