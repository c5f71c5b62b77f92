"""Applying feature_repo/ to the registry, only when the definitions changed.

The fingerprint covers every file `feast apply` reads (the repo minus .feastignore'd
files), the feature schema module they are built from, and where the store lives:
moving the data folder changes the sources' paths, so it is a change too.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from realtime import feature_schema
from realtime.feast_config import DEFINITION_MODULES, FeastLocation

FINGERPRINT_FILE = "definitions.sha256"


def definitions_fingerprint(location: FeastLocation) -> str:
    from feast.repo_operations import get_repo_files

    digest = hashlib.sha256()
    files = [*get_repo_files(location.repo_dir), Path(feature_schema.__file__)]
    for path in sorted(files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(str(location.features_dir.resolve()).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ApplyResult:
    applied: bool  # False: the registry already held this fingerprint
    fingerprint: str
    feature_views: list[str]
    feature_services: list[str]
    entities: list[str]


def _fresh_repo(location: FeastLocation):  # type: ignore[no-untyped-def]
    """The repo's objects as `feast apply` collects them, from freshly imported modules
    (a second store in one process, a test or another data folder, must not see the
    first one's source paths), without changing the working directory as the CLI's
    module naming needs."""
    from feast import Entity, FeatureService, FeatureView
    from feast.data_source import DataSource
    from feast.repo_contents import RepoContents

    for name in DEFINITION_MODULES:
        sys.modules.pop(name, None)
    repo_dir = str(location.repo_dir)
    sys.path.insert(0, repo_dir)
    try:
        with location.definitions_env():
            modules = [importlib.import_module(name) for name in DEFINITION_MODULES]
    finally:
        sys.path.remove(repo_dir)
        for name in DEFINITION_MODULES:
            sys.modules.pop(name, None)
    found: dict[type, list] = {Entity: [], DataSource: [], FeatureView: [], FeatureService: []}
    for module in modules:
        for value in vars(module).values():
            for kind, objects in found.items():
                if isinstance(value, kind) and not any(value is o for o in objects):
                    objects.append(value)
    return RepoContents(
        projects=[],
        data_sources=found[DataSource],
        feature_views=found[FeatureView],
        on_demand_feature_views=[],
        stream_feature_views=[],
        label_views=[],
        entities=found[Entity],
        feature_services=found[FeatureService],
        permissions=[],
    )


def apply_if_changed(location: FeastLocation, *, force: bool = False) -> ApplyResult:
    from feast.repo_operations import apply_total_with_repo_instance

    fingerprint = definitions_fingerprint(location)
    marker = location.features_dir / FINGERPRINT_FILE
    store = location.store()
    applied = False
    if force or not marker.exists() or marker.read_text().strip() != fingerprint:
        repo = _fresh_repo(location)
        apply_total_with_repo_instance(
            store,
            store.project,
            store.registry,
            repo,
            skip_source_validation=True,  # the parquet files appear with the first run
        )
        marker.write_text(fingerprint + "\n")
        applied = True
    return ApplyResult(
        applied=applied,
        fingerprint=fingerprint,
        feature_views=sorted(v.name for v in store.list_feature_views()),
        feature_services=sorted(s.name for s in store.list_feature_services()),
        entities=sorted(e.name for e in store.list_entities()),
    )
