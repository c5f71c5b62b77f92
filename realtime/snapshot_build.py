"""A state snapshot encoded a chunk at a time, so that taking one never stalls the loop.

Encoding 200,000 orders in one call takes a tenth of a second or more, and the event
loop serves nobody meanwhile. `SnapshotBuild` captures what is small at once (counts,
trading states, limits, marks, positions) and where each account's order and fill logs
end, then encodes `step(n)` entries per loop iteration. The payload is exactly
`encode_snapshot(state.snapshot())` as of the captured seq (the same bytes, format 2 of
`realtime.snapshot_format`), handed to the journal as pieces (`pieces()`), never joined
into one buffer: the journal stores them a chunk per transaction.

Consistency while the loop goes on changing the state:
- orders appended or fills appended after the capture lie beyond the captured log
  ends and are left out;
- an order changed after the capture and not yet encoded: `EngineState.apply` calls
  `before_change` first, which keeps the order's encoding as of the capture
  (copy on write);
- fills are immutable; positions and the rest were encoded at the capture;
- an entry evicted (retention) after the capture and before it was encoded is left
  out. That is safe: the snapshot is written after the event that evicted it, so a
  restart replays that event too and arrives at the same state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from realtime.snapshot_format import (
    BODY_HEADER,
    array_header,
    fill_row,
    header_bytes,
    order_row,
    rows_body,
    snapshot_header,
)
from realtime.state import AccountBook, EngineState

_encoder = msgspec.msgpack.Encoder()

# Entries encoded per step (one step per loop iteration): about 0.4 ms of encoding. Each
# step adds its time to every submit in flight in that iteration, so it sets the tail of
# submit while a snapshot is built: 500 entries gave a P99.9 of 5.6-6.0 ms with 64 callers,
# 200 gives 3.8-4.3 ms (medians), for a build that takes about 1.5 times as long (BENCHMARKS 33).
DEFAULT_STEP = 200


class SnapshotBuild:
    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.seq = state.last_seq
        self._header = header_bytes(snapshot_header(state.snapshot(rows=False)))
        # Each account's log ends as of the capture.
        self._books: list[tuple[AccountBook, int, int]] = [
            (book, book.orders.end, book.fills.end) for book in state.accounts.values()
        ]
        self._order_end = {book.account: end for book, end, _ in self._books}
        self._overrides: dict[str, bytes] = {}
        self._order_parts: list[bytes] = []
        self._fill_parts: list[bytes] = []
        self._orders = 0
        self._fills = 0
        self._work = self._chunks()
        self.done = False

    def _order_row(self, order: Any) -> tuple[Any, ...]:
        client_row = self.state.client_id_row(order)
        return order_row(order, None if client_row is None else client_row[3])

    def before_change(self, order_id: str) -> None:
        """Keep `order_id`'s encoding as of the capture, if this build still needs it."""
        if order_id in self._overrides:
            return
        order = self.state.orders.get(order_id)
        if order is None:
            return
        end = self._order_end.get(order.account)
        slot = self.state._slots.get(order_id)
        if end is None or slot is None or slot >= end:
            return  # created after the capture: not in this snapshot
        self._overrides[order_id] = _encoder.encode(self._order_row(order))

    def step(self, entries: int = DEFAULT_STEP) -> bool:
        """Encode about `entries` more orders or fills; True once everything is encoded."""
        if not self.done:
            for _ in range(max(1, entries // DEFAULT_STEP)):
                if not next(self._work, False):
                    self.done = True
                    break
        return self.done

    def _chunks(self) -> Iterator[bool]:
        overrides = self._overrides
        for book, order_end, fill_end in self._books:
            # state.client_id_row, inlined: two lookups per order instead of four calls.
            order_ids, fps = self.state.client_ids.owned_fingerprints(book.account)
            batch: list[Any] = []
            for _, order in book.orders.entries(0, order_end):
                order_id = order.order_id
                found = overrides.pop(order_id, None)
                if found is None:
                    client_order_id = order.client_order_id
                    owned = order_ids.get(client_order_id) == order_id
                    batch.append(order_row(order, fps[client_order_id] if owned else None))
                else:
                    batch.append(msgspec.Raw(found))
                if len(batch) == DEFAULT_STEP:
                    self._add_orders(batch)
                    batch = []
                    yield True
            self._add_orders(batch)
            fills: list[tuple[Any, ...]] = []
            for _, fill in book.fills.entries(0, fill_end):
                fills.append(fill_row(fill))
                if len(fills) == DEFAULT_STEP:
                    self._add_fills(fills)
                    fills = []
                    yield True
            self._add_fills(fills)
            yield True

    def _add_orders(self, rows: list[Any]) -> None:
        if rows:
            self._order_parts.append(rows_body(rows))
            self._orders += len(rows)

    def _add_fills(self, rows: list[Any]) -> None:
        if rows:
            self._fill_parts.append(rows_body(rows))
            self._fills += len(rows)

    def pieces(self) -> list[bytes]:
        """The payload in pieces, in order (the journal stores them without joining)."""
        if not self.done:
            raise RuntimeError("snapshot build not finished")
        return [
            self._header,
            BODY_HEADER,
            array_header(self._orders),
            *self._order_parts,
            array_header(self._fills),
            *self._fill_parts,
        ]

    def build_now(self) -> bytes:
        """Finish synchronously (at close, or in tests) and return the payload."""
        while not self.step():
            pass
        return b"".join(self.pieces())
