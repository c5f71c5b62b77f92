"""Sources: the parquet folders the Dagster `features` assets write, one per view, under
$TRADEPIPE_DATA_DIR/features/sources (never this source tree)."""

from feast import FileSource
from feast.data_format import ParquetFormat

from realtime.feast_config import sources_dir_from_env
from realtime.feature_schema import CREATED_TS, EVENT_TS, VIEWS

_SOURCES_DIR = sources_dir_from_env()


def _source(view):
    return FileSource(
        name=view.source,
        # one file per hour of event time; a re-run of an hour replaces its file
        path=str(_SOURCES_DIR / view.folder / "*.parquet"),
        file_format=ParquetFormat(),
        timestamp_field=EVENT_TS,
        created_timestamp_column=CREATED_TS,
        description=f"Feature rows written by the Dagster asset {view.folder}.",
        tags={"owner": "features", "written_by": "dagster"},
    )


# by source name: two views may read one source (symbol_market_fv, symbol_risk_fv)
SOURCES = {view.source: _source(view) for view in reversed(VIEWS)}
symbol_market_source = SOURCES["symbol_market_source"]
symbol_alt_source = SOURCES["symbol_alt_source"]
account_activity_source = SOURCES["account_activity_source"]
