"""One started platform for every test of this package (starting it is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.assets.validation.support import Running, running_platform


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_platform(tmp_path_factory.mktemp("validation")) as running:
        yield running
