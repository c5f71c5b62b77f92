"""Where the daily TCA reports are written: a folder, one sub-folder per day."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dagster as dg
import pydantic


class ReportFolder(dg.ConfigurableResource):
    """Files under `path`, each written whole (to a temporary file, then renamed),
    so a reader never sees half a report and a re-run replaces the old one."""

    path: str = pydantic.Field(description="folder of the reports (created on first write)")

    def write(self, relative: str, data: bytes) -> Path:
        target = self.resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the report from a web server
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def resolve(self, relative: str) -> Path:
        root = Path(self.path).resolve()
        target = (root / relative).resolve()
        if root not in target.parents:
            raise ValueError(f"{relative!r} is outside the report folder {root}")
        return target
