"""Feature views: one per source, with explicit schemas (realtime/feature_schema.py
states every column once), TTLs, tags and descriptions."""

from data_sources import SOURCES
from entities import ENTITIES
from feast import FeatureView, Field
from feast.types import Float64, Int64

from realtime.feature_schema import VIEWS

_TYPES = {"float64": Float64, "int64": Int64}


def _view(view):
    return FeatureView(
        name=view.name,
        entities=[ENTITIES[view.entity]],
        ttl=view.ttl,
        schema=[
            Field(name=f.name, dtype=_TYPES[f.dtype], description=f.description)
            for f in view.features
        ],
        source=SOURCES[view.source],
        online=True,
        description=view.description,
        tags={"owner": "features", "entity": view.entity},
    )


FEATURE_VIEWS = {view.name: _view(view) for view in VIEWS}
symbol_market_fv = FEATURE_VIEWS["symbol_market_fv"]
symbol_risk_fv = FEATURE_VIEWS["symbol_risk_fv"]
symbol_alt_fv = FEATURE_VIEWS["symbol_alt_fv"]
account_activity_fv = FEATURE_VIEWS["account_activity_fv"]
