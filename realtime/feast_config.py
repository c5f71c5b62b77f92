"""Where the feature store lives and how to open it: one statement for Dagster and the service.

`feature_repo/feature_store.yaml` is the one wiring point; this module only fills in
its one variable and, by setting, swaps its online store:

* `${TRADEPIPE_FEATURES_DIR}` in the file is `$TRADEPIPE_DATA_DIR/features` (never the
  source tree): the registry, the SQLite online store and the parquet sources.
* `TRADEPIPE_FEAST_ONLINE=redis://host:port/db` (production) replaces the online store
  with Feast's Redis store; unset (the default) keeps the file's SQLite store.

Feast is imported only when a store is opened: the service pays its import cost only
when features are switched on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from realtime.layout import PROJECT_ROOT, DataLayout, resolve

if TYPE_CHECKING:
    from feast import FeatureStore, RepoConfig

REPO_DIR: Final = PROJECT_ROOT / "feature_repo"
STORE_YAML: Final = "feature_store.yaml"
DIR_VARIABLE: Final = "TRADEPIPE_FEATURES_DIR"
ONLINE_VARIABLE: Final = "TRADEPIPE_FEAST_ONLINE"
# the definition modules, in dependency order (entities < sources < views < services)
DEFINITION_MODULES: Final = ("entities", "data_sources", "feature_views", "feature_services")


def features_dir(data_dir: Path) -> Path:
    return DataLayout.under(data_dir).features_dir


def redis_connection_string(url: str) -> str:
    """Feast's Redis store wants `host:port[,db=N]`, not a URL: a URL's parts, or
    ValueError naming what is wrong (the settings report it against the variable)."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError(f"expected redis://host[:port][/db], got {url!r}")
    try:
        port = parts.port or 6379
    except ValueError:
        raise ValueError(f"expected a port number in {url!r}") from None
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"expected a database number after the host in {url!r}")
    text = f"{parts.hostname}:{port},db={db}"
    if parts.password:
        text += f",password={parts.password}"
    return text


@dataclass(frozen=True, slots=True)
class FeastLocation:
    """What picks a feature store: its data folder, the repo and the online store."""

    features_dir: Path
    online_url: str | None = None  # redis://...; None: the file's SQLite store
    repo_dir: Path = REPO_DIR

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FeastLocation:
        env = os.environ if env is None else env
        online = env.get(ONLINE_VARIABLE, "").strip() or None
        if online is not None:
            redis_connection_string(online)  # refuse a bad URL at start, not at first read
        return cls(DataLayout.from_env(env).features_dir, online)

    @property
    def online_kind(self) -> str:
        return "sqlite" if self.online_url is None else "redis"

    @property
    def sources_dir(self) -> Path:
        return self.features_dir / "sources"

    def raw_config(self) -> dict[str, Any]:
        import yaml  # type: ignore[import-untyped]

        text = (self.repo_dir / STORE_YAML).read_text()
        raw: dict[str, Any] = yaml.safe_load(
            text.replace("${" + DIR_VARIABLE + "}", str(self.features_dir))
        )
        if self.online_url is not None:
            raw["online_store"] = {
                "type": "redis",
                "connection_string": redis_connection_string(self.online_url),
            }
        return raw

    @property
    def registry_path(self) -> Path:
        registry = self.raw_config()["registry"]
        return Path(registry["path"] if isinstance(registry, dict) else registry)

    def repo_config(self) -> RepoConfig:
        from feast import RepoConfig

        config = RepoConfig(**self.raw_config())
        config.repo_path = self.repo_dir
        return config

    def store(self) -> FeatureStore:
        from feast import FeatureStore

        self.features_dir.mkdir(parents=True, exist_ok=True)
        return FeatureStore(repo_path=str(self.repo_dir), config=self.repo_config())

    @contextmanager
    def definitions_env(self) -> Iterator[None]:
        """While Feast imports the definitions: the variable they read their parquet
        folder from (feature_repo/data_sources.py), as `feast apply` from the CLI sees it."""
        before = os.environ.get(DIR_VARIABLE)
        os.environ[DIR_VARIABLE] = str(self.features_dir)
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(DIR_VARIABLE, None)
            else:
                os.environ[DIR_VARIABLE] = before


def sources_dir_from_env() -> Path:
    """The parquet folder the definitions point their sources at: the variable when set
    (the CLI, `definitions_env`), else the default layout's."""
    explicit = os.environ.get(DIR_VARIABLE, "").strip()
    # resolve: a relative path is relative to the project root, as in every runtime.
    base = resolve(explicit) if explicit else DataLayout.from_env().features_dir
    return base / "sources"
