"""One started platform for every test of this package (starting it is the slow part)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from assets.validation.suites.features import instrument_symbols
from tests.assets.validation.support import Running, running_platform, write_online_features


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_platform(tmp_path_factory.mktemp("validation")) as running:
        # fresh online features, as a features_job run leaves them (the data pipeline
        # suite reads their age); Feast keeps whole seconds
        running.features_at_ns = time.time_ns() // 1_000_000_000 * 1_000_000_000
        write_online_features(running.features, instrument_symbols(), running.features_at_ns)
        yield running
