"""Feature services: versioned sets of features a consumer reads. A change of what a
consumer needs is a new version (risk_features_v2), never an edit of v1."""

from feast import FeatureService
from feature_views import FEATURE_VIEWS

from realtime.feature_schema import SERVICES


def _service(service):
    return FeatureService(
        name=service.name,
        features=[
            FEATURE_VIEWS[view.name][list(names)] if names else FEATURE_VIEWS[view.name]
            for view, names in service.features
        ],
        description=service.description,
        tags={"owner": "features", "version": service.name.rsplit("_", 1)[-1]},
    )


FEATURE_SERVICES = {service.name: _service(service) for service in SERVICES}
risk_features_v1 = FEATURE_SERVICES["risk_features_v1"]
execution_features_v1 = FEATURE_SERVICES["execution_features_v1"]
