"""Where the feature files live: the data layout's, or TRADEPIPE_FEATURES_DIR by the
layout's relative-path rule (relative to the project root in every runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime.feast_config import DIR_VARIABLE, FeastLocation, sources_dir_from_env
from realtime.layout import PROJECT_ROOT, DataLayout


def test_layout_when_under_a_data_dir_then_features_and_reports_below_it() -> None:
    layout = DataLayout.under(Path("/srv/data"))
    assert layout.features_dir == Path("/srv/data/features")
    assert layout.reports_dir == Path("/srv/data/reports")


def test_sources_dir_when_features_dir_relative_then_resolved_against_project_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DIR_VARIABLE, "elsewhere/features")
    assert sources_dir_from_env() == PROJECT_ROOT / "elsewhere" / "features" / "sources"


def test_sources_dir_when_features_dir_unset_then_the_layouts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DIR_VARIABLE, raising=False)
    monkeypatch.setenv("TRADEPIPE_DATA_DIR", str(tmp_path))
    assert sources_dir_from_env() == tmp_path / "features" / "sources"
    location = FeastLocation.from_env({"TRADEPIPE_DATA_DIR": str(tmp_path)})
    assert location == FeastLocation(tmp_path / "features", location.online_url)
