"""Loading inbox files exactly once, quarantining whatever cannot be loaded.

For each file waiting in a sink's inbox:

1. hash its content; a hash `processed_files` already holds was loaded
   before (a retried run, or the same content dropped twice): skip it;
2. parse it into good rows and quarantined records (a parser never raises
   for bad input: an unreadable file becomes one quarantined record);
3. write the good rows, the quarantine rows and the file's processed_files
   row with one `write_frames` call, processed_files last: one transaction
   in DuckDB; in QuestDB a crash before the last write re-sends the same
   rows, which DEDUP UPSERT KEYS absorb;
4. move the file to `done/`. A crash between 3 and 4 is harmless: the next
   run finds the hash in processed_files and only moves the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import dagster as dg
import pandas as pd

from assets.metadata import markdown_preview
from assets.resources import Inbox, Sink, TableSpec, Warehouse
from assets.sinks.tables import PROCESSED_FILES, QUARANTINE, processed_hashes

_RECORD_CHARS: Final = 2000  # how much of an offending record the quarantine keeps


@dataclass(frozen=True, slots=True)
class InboxFile:
    path: Path
    sha256: str
    size: int
    received_at: pd.Timestamp  # UTC, naive; the file's mtime

    @property
    def name(self) -> str:
        return self.path.name

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class ParsedFile:
    """What a parser made of one file: good rows per table, and what it refused."""

    rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantined: list[dict[str, object]] = field(default_factory=list)

    def refuse(self, line_no: int, code: str, reason: str, record: str) -> None:
        self.quarantined.append(
            {
                "line_no": line_no,
                "reason_code": code,
                "reason": reason,
                "record": record[:_RECORD_CHARS],
            }
        )

    @classmethod
    def refused_whole(cls, code: str, reason: str, head: bytes) -> ParsedFile:
        """The whole file quarantined as one record (line 0), with its first bytes."""
        parsed = cls()
        parsed.refuse(0, code, reason, head[:200].decode("utf-8", "backslashreplace"))
        return parsed


Parser = Callable[[InboxFile], ParsedFile]


@dataclass
class SinkReport:
    sink: Sink
    loaded: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, object]] = field(default_factory=list)
    quarantine_tail: pd.DataFrame = field(default_factory=pd.DataFrame)
    skipped: int = 0
    quarantined: int = 0

    def metadata_for(self, table: TableSpec) -> dict[str, Any]:
        return {
            "rows_written": dg.MetadataValue.int(self.loaded.get(table.name, 0)),
            "files_processed": dg.MetadataValue.int(len(self.files)),
            "files_skipped_already_loaded": dg.MetadataValue.int(self.skipped),
            "records_quarantined": dg.MetadataValue.int(self.quarantined),
            "files": markdown_preview(pd.DataFrame(self.files), rows=20),
            "quarantined_preview": markdown_preview(self.quarantine_tail, rows=10),
        }


def sink_files(
    sink: Sink,
    parse: Parser,
    tables: dict[str, TableSpec],
    inbox: Inbox,
    warehouse: Warehouse,
    *,
    run_id: str,
    log: Any = None,
) -> SinkReport:
    """Load every waiting file of `sink` once; see the module docstring."""
    warehouse.ensure_schema([*tables.values(), QUARANTINE, PROCESSED_FILES])
    report = SinkReport(sink=sink, loaded=dict.fromkeys(tables, 0))
    files = [_inbox_file(path) for path in inbox.pending(sink)]
    already = processed_hashes(warehouse, sink, [f.sha256 for f in files])
    for file in files:
        if file.sha256 in already:
            inbox.mark_done(file.path)
            report.skipped += 1
            continue
        parsed = parse(file)
        quarantine = _quarantine_frame(sink, file, parsed)
        loaded = {name: len(frame) for name, frame in parsed.rows.items()}
        warehouse.write_frames(
            [
                *((tables[name], frame) for name, frame in parsed.rows.items()),
                (QUARANTINE, quarantine),
                (PROCESSED_FILES, _processed_row(sink, file, sum(loaded.values()), parsed, run_id)),
            ]
        )
        inbox.mark_done(file.path)
        already.add(file.sha256)  # the same content twice in one run loads once
        for name, count in loaded.items():
            report.loaded[name] = report.loaded.get(name, 0) + count
        report.quarantined += len(parsed.quarantined)
        report.files.append(
            {
                "file": file.name,
                "sha256": file.sha256[:12],
                **loaded,
                "quarantined": len(parsed.quarantined),
            }
        )
        if len(quarantine):
            report.quarantine_tail = quarantine[["file_name", "line_no", "reason_code", "reason"]]
        if log is not None:
            log.info(f"{sink}: {file.name}: loaded {loaded}, quarantined {len(parsed.quarantined)}")
    return report


def _inbox_file(path: Path) -> InboxFile:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    stat = path.stat()
    return InboxFile(
        path=path,
        sha256=digest,
        size=stat.st_size,
        received_at=pd.Timestamp(stat.st_mtime_ns, unit="ns").floor("us"),
    )


def _quarantine_frame(sink: Sink, file: InboxFile, parsed: ParsedFile) -> pd.DataFrame:
    frame = pd.DataFrame(parsed.quarantined, columns=["line_no", "reason_code", "reason", "record"])
    frame.insert(0, "ts", pd.Series([file.received_at] * len(frame), dtype="datetime64[ns]"))
    frame.insert(1, "sink", sink)
    frame.insert(2, "file_name", file.name)
    frame.insert(3, "file_sha256", file.sha256)
    frame["line_no"] = frame["line_no"].astype("int64")
    return frame


def _processed_row(
    sink: Sink, file: InboxFile, loaded: int, parsed: ParsedFile, run_id: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": [pd.Timestamp.now("UTC").tz_localize(None)],
            "sink": [sink],
            "file_name": [file.name],
            "file_sha256": [file.sha256],
            "size_bytes": [file.size],
            "rows_loaded": [loaded],
            "rows_quarantined": [len(parsed.quarantined)],
            "run_id": [run_id],
        }
    )
