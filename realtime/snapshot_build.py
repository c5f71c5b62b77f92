"""A state snapshot encoded a chunk at a time, so that taking one never stalls the loop.

Encoding 200,000 orders in one call takes a tenth of a second or more, and the event
loop serves nobody meanwhile. `SnapshotBuild` captures what is small at once (counts,
trading states, limits, marks, positions) and where each account's order and fill logs
end, then encodes `step(n)` entries per loop iteration. The payload is exactly
`encode_snapshot(state.snapshot())` as of the captured seq (the same bytes), so
`decode_snapshot` and every snapshot written before this module read alike.

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

import struct
from collections.abc import Iterator
from typing import Any

import msgspec

from realtime.domain import Fill, Order
from realtime.state import AccountBook, EngineState, StateSnapshot

_encoder = msgspec.msgpack.Encoder()

# The snapshot's fields, in the order msgspec encodes them (its map order).
_FIELDS: tuple[str, ...] = StateSnapshot.__struct_fields__
_BIG = ("orders", "fills", "client_ids")

DEFAULT_STEP = 500  # entries per step: well under a millisecond of encoding


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + struct.pack(">H", n)
    return b"\xdd" + struct.pack(">I", n)


def _map_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x80 | n,))
    return b"\xde" + struct.pack(">H", n)


def _body(items: list[Any]) -> bytes:
    """The encoded items without their array header (concatenated into a bigger array)."""
    encoded = _encoder.encode(items)
    return encoded[len(_array_header(len(items))) :]


class SnapshotBuild:
    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.seq = state.last_seq
        small = {
            "seq": state.last_seq,
            "order_count": state.order_count,
            "fill_count": state.fill_count,
            "global_state": state.global_state,
            "account_states": {a: b.trading_state for a, b in state.accounts.items()},
            "limits_json": state.limits_json(),
            "limits_digest": state.limits_digest,
            "marks": state.marks,
            "positions": state.snapshot_positions(),
            "feature_scales": dict(state.feature_scales),
            "watermark_ns": state.watermark_ns,
        }
        self._encoded = {name: _encoder.encode(value) for name, value in small.items()}
        # Each account's log ends as of the capture.
        self._books: list[tuple[AccountBook, int, int]] = [
            (book, book.orders.end, book.fills.end) for book in state.accounts.values()
        ]
        self._order_end = {book.account: end for book, end, _ in self._books}
        self._overrides: dict[str, bytes] = {}
        self._parts: dict[str, list[bytes]] = {name: [] for name in _BIG}
        self._counts = dict.fromkeys(_BIG, 0)
        self._work = self._chunks()
        self.done = False

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
        self._overrides[order_id] = _encoder.encode(order)

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
        row = self.state.client_id_row
        for book, order_end, fill_end in self._books:
            batch: list[Order | msgspec.Raw] = []
            rows: list[tuple[str, str, str, bytes]] = []
            for _, order in book.orders.entries(0, order_end):
                found = overrides.pop(order.order_id, None)
                batch.append(order if found is None else msgspec.Raw(found))
                client_row = row(order)
                if client_row is not None:
                    rows.append(client_row)
                if len(batch) == DEFAULT_STEP:
                    self._add("orders", batch)
                    self._add("client_ids", rows)
                    batch, rows = [], []
                    yield True
            self._add("orders", batch)
            self._add("client_ids", rows)
            fills: list[Fill] = []
            for _, fill in book.fills.entries(0, fill_end):
                fills.append(fill)
                if len(fills) == DEFAULT_STEP:
                    self._add("fills", fills)
                    fills = []
                    yield True
            self._add("fills", fills)
            yield True

    def _add(self, name: str, items: list[Any]) -> None:
        if items:
            self._parts[name].append(_body(items))
            self._counts[name] += len(items)

    def pieces(self) -> list[bytes]:
        """The payload in pieces, to be joined (off the loop: it is one big copy)."""
        if not self.done:
            raise RuntimeError("snapshot build not finished")
        pieces = [_map_header(len(_FIELDS))]
        for name in _FIELDS:
            pieces.append(_encoder.encode(name))
            if name in self._parts:
                pieces.append(_array_header(self._counts[name]))
                pieces.extend(self._parts[name])
            else:
                pieces.append(self._encoded[name])
        return pieces

    def build_now(self) -> bytes:
        """Finish synchronously (at close, or in tests) and return the payload."""
        while not self.step():
            pass
        return b"".join(self.pieces())
