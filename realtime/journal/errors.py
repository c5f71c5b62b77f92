"""The journal's errors; every one carries a stable `code` that is safe to show to clients."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import ClassVar


class JournalError(Exception):
    """Base of all journal errors; `code` is stable and safe to show to clients."""

    code: ClassVar[str] = "JOURNAL_ERROR"


class JournalCorruptError(JournalError):
    """The file is not a journal database, or a row fails verification."""

    code: ClassVar[str] = "JOURNAL_CORRUPT"

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class JournalWriteError(JournalError):
    """A commit failed; the journal refuses further writes until reopened."""

    code: ClassVar[str] = "JOURNAL_WRITE_FAILED"


class JournalClosedError(JournalError):
    code: ClassVar[str] = "JOURNAL_CLOSED"


class JournalLockedError(JournalError):
    """Another `Journal` (in this or another process) has the file open for writing."""

    code: ClassVar[str] = "JOURNAL_LOCKED"


class JournalNotFoundError(JournalError):
    code: ClassVar[str] = "JOURNAL_NOT_FOUND"


class JournalSchemaError(JournalError):
    """A SQLite database that is not a journal, or one of an unsupported version."""

    code: ClassVar[str] = "JOURNAL_SCHEMA"


class JournalDecodeError(JournalError):
    """A row passes its checksum but does not decode as a known event type."""

    code: ClassVar[str] = "JOURNAL_UNDECODABLE"


class JournalUsageError(JournalError):
    """The journal was used against its threading or lifecycle rules."""

    code: ClassVar[str] = "JOURNAL_MISUSE"


def classify_sqlite_error(exc: sqlite3.Error, path: Path) -> JournalError:
    """The journal error for a SQLite error raised while opening or reading `path`."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return JournalCorruptError(
            f"{path} is not a readable journal database ({name}: {exc}); "
            "refusing to open it (restore it or move it aside)"
        )
    return JournalError(f"cannot open journal {path}: {exc}")
