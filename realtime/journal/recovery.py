"""Verifying a journal's tail on open: quarantine a bad suffix, refuse a bad middle.

What a writer finds on open decides whether it may resume: a damaged or torn
*suffix* (the last transactions of a crash on a host that lost its page
cache, a bit flip at the end) is moved to the `quarantine` table and the
journal resumes after the last good event; a bad row followed by good ones,
or a gap in the sequence, is refused, because no rule can say which side to
trust.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime.journal.errors import JournalCorruptError
from realtime.journal.format import (
    INSERT_QUARANTINE,
    SNAPSHOT_QUARANTINE_TYPE,
    event_row_problem,
)


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """Outcome of the tail verification run by `Journal.open`."""

    last_seq: int
    quarantined: int
    detail: str
    checked: int = 0


def recover(conn: sqlite3.Connection, path: Path, tail_check_rows: int) -> RecoveryReport:
    """Verify the last rows; quarantine a bad suffix, refuse a bad middle."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        report = verify_tail(conn, path, tail_check_rows)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return report


def verify_tail(conn: sqlite3.Connection, path: Path, tail_check_rows: int) -> RecoveryReport:
    rows: list[tuple[Any, ...]] = conn.execute(
        "SELECT seq, ts_ns, type, payload, crc FROM events ORDER BY seq DESC LIMIT ?",
        (tail_check_rows,),
    ).fetchall()
    rows.reverse()
    whole_table = len(rows) < tail_check_rows
    problems = [event_row_problem(row) for row in rows]
    first_bad = next((i for i, p in enumerate(problems) if p is not None), len(rows))
    if first_bad < len(rows):
        later_good = next(
            (rows[i][0] for i in range(first_bad + 1, len(rows)) if problems[i] is None), None
        )
        bad_seq = rows[first_bad][0]
        if later_good is not None:
            raise JournalCorruptError(
                f"{path}: event seq {bad_seq} is corrupt ({problems[first_bad]}) but later "
                f"event seq {later_good} is intact; refusing to guess - restore from backup",
                seq=bad_seq,
            )
        if first_bad == 0:
            raise JournalCorruptError(
                f"{path}: none of the last {len(rows)} events verifies (first bad seq "
                f"{bad_seq}: {problems[0]}); refusing to guess - restore from backup",
                seq=bad_seq,
            )
    good = rows[:first_bad]
    if whole_table and good and good[0][0] != 1:
        raise JournalCorruptError(
            f"{path}: the journal starts at seq {good[0][0]}, events 1..{good[0][0] - 1} "
            "are missing",
            seq=1,
        )
    for previous, row in itertools.pairwise(good):
        if row[0] != previous[0] + 1:
            raise JournalCorruptError(
                f"{path}: events {previous[0] + 1}..{row[0] - 1} are missing", seq=previous[0] + 1
            )
    last_seq = int(good[-1][0]) if good else 0
    now = time.time_ns()
    bad = rows[first_bad:]
    details: list[str] = []
    if bad:
        conn.executemany(
            INSERT_QUARANTINE,
            [
                (
                    seq,
                    type_,
                    payload,
                    crc,
                    f"tail verification on open: {problems[first_bad + i]}",
                    now,
                )
                for i, (seq, _, type_, payload, crc) in enumerate(bad)
            ],
        )
        conn.execute("DELETE FROM events WHERE seq > ?", (last_seq,))
        details.append(
            f"quarantined {len(bad)} corrupt tail event(s) seq {bad[0][0]}..{bad[-1][0]} "
            f"({problems[first_bad]}); the journal resumes after seq {last_seq}"
        )
    stale = conn.execute(
        "SELECT seq, created_ns, payload, crc FROM snapshots WHERE seq > ?", (last_seq,)
    ).fetchall()
    if stale:
        conn.executemany(
            INSERT_QUARANTINE,
            [
                (
                    seq,
                    SNAPSHOT_QUARANTINE_TYPE,
                    payload,
                    crc,
                    f"snapshot covers seq {seq}, beyond the last good event {last_seq}",
                    now,
                )
                for seq, _, payload, crc in stale
            ],
        )
        conn.execute("DELETE FROM snapshots WHERE seq > ?", (last_seq,))
        details.append(f"quarantined {len(stale)} snapshot(s) beyond seq {last_seq}")
    # Chunks no snapshot marker refers to: a snapshot that was being written when the
    # process stopped (never loaded: it has no marker), or one pruned before its chunks
    # were all deleted. Nothing else writes while the journal opens.
    orphans = conn.execute(
        "DELETE FROM snapshot_chunks WHERE seq NOT IN (SELECT seq FROM snapshots)"
    ).rowcount
    if orphans > 0:
        details.append(f"deleted {orphans} chunk(s) of unfinished or pruned snapshots")
    if not details:
        details.append(
            f"verified the last {len(rows)} event(s); clean" if rows else "empty journal"
        )
    return RecoveryReport(
        last_seq=last_seq,
        quarantined=len(bad) + len(stale),
        detail="; ".join(details),
        checked=len(rows),
    )
