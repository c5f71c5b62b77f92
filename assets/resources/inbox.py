"""The inbox folders the sinks read files from.

Contract with producers (e.g. the realtime service's `POST /alt`): write the
file under a temporary name that starts with '.' or ends in '.tmp', then
rename it into place; the rename is atomic, so a sink never sees half a file.
Every other regular file in the folder is the sink's: loaded if its format is
supported, quarantined whole otherwise, and then moved to `done/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

import dagster as dg

Sink = Literal["ticks", "alt"]

DONE_DIR: Final = "done"
_IN_FLIGHT_SUFFIXES: Final = (".tmp", ".part")


class Inbox(dg.ConfigurableResource):
    """Folders of files waiting for the tick and alt-data sinks."""

    ticks_dir: str
    alt_dir: str

    def folder(self, sink: Sink) -> Path:
        return Path(self.ticks_dir if sink == "ticks" else self.alt_dir)

    def pending(self, sink: Sink) -> list[Path]:
        """Files waiting in the sink's folder, oldest first."""
        folder = self.folder(sink)
        if not folder.is_dir():
            return []
        files = [
            p
            for p in folder.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and not p.name.endswith(_IN_FLIGHT_SUFFIXES)
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def mark_done(self, path: Path) -> Path:
        """Move a processed file into `done/` beside it; never overwrite an earlier one."""
        done = path.parent / DONE_DIR
        done.mkdir(exist_ok=True)
        target = done / path.name
        counter = 1
        while target.exists():
            target = done / f"{path.stem}.{counter}{path.suffix}"
            counter += 1
        path.rename(target)
        return target
