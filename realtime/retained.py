"""An append-only log whose entries can be dropped without moving the others.

An account's orders and fills are paged by position (`next_cursor`), and old ones
leave memory (eviction, `realtime.state`). A plain list cannot drop an entry in the
middle without shifting every later position (and paying O(n)); this log stores
entries in fixed blocks, so an entry keeps its slot for ever, dropping one is O(1),
and a block whose entries are all gone is released. What stays per evicted entry is
nothing, and one block pointer per `BLOCK` entries.

A block is a dict from offset to entry, not a list: CPython's cyclic collector never
scans a dict whose keys and values cannot be tracked (ints, and the gc=False structs
kept here: `Order`, `Fill`), while it walks every item of a list in every full
collection. With lists, every full collection touched each of 200,000 orders (part of
the 15 ms a full collection took at that size); with dicts these logs cost it nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

BLOCK = 1024


class SlotLog(Generic[T]):
    __slots__ = ("_blocks", "_end", "_live", "_live_in")

    def __init__(self) -> None:
        self._blocks: list[dict[int, T] | None] = []
        self._live_in: list[int] = []  # live entries per block
        self._end = 0  # slots handed out so far: the next entry's slot
        self._live = 0

    def append(self, item: T) -> int:
        """Add `item` at the end; returns its slot (stable for the log's life)."""
        slot = self._end
        offset = slot % BLOCK
        if offset == 0:
            self._blocks.append({0: item})
            self._live_in.append(1)
        else:
            block = self._blocks[-1]
            assert block is not None  # the last block is never released while it fills
            block[offset] = item
            self._live_in[-1] += 1
        self._end = slot + 1
        self._live += 1
        return slot

    def evict(self, slot: int) -> None:
        """Drop the entry at `slot` (a no-op if it is already gone)."""
        index, offset = divmod(slot, BLOCK)
        block = self._blocks[index]
        if block is None or block.pop(offset, None) is None:
            return
        self._live -= 1
        self._live_in[index] -= 1
        if not self._live_in[index] and (index + 1) * BLOCK <= self._end:
            self._blocks[index] = None  # empty and full: nothing will enter it again

    def get(self, slot: int) -> T | None:
        index, offset = divmod(slot, BLOCK)
        block = self._blocks[index] if 0 <= index < len(self._blocks) else None
        return None if block is None else block.get(offset)

    @property
    def end(self) -> int:
        """One past the last slot handed out: a stop for `entries` that ignores later appends."""
        return self._end

    def __len__(self) -> int:
        return self._live

    def __iter__(self) -> Iterator[T]:
        for _, item in self.entries():
            yield item

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, T]]:
        """(slot, entry) of the live entries with start <= slot < stop, in slot order.

        Safe while entries are appended or evicted: it reads blocks by index."""
        stop = self._end if stop is None else min(stop, self._end)
        slot = max(start, 0)
        while slot < stop:
            index, offset = divmod(slot, BLOCK)
            block = self._blocks[index]
            if block is None:
                slot = (index + 1) * BLOCK
                continue
            upto = min(BLOCK, offset + stop - slot)
            for i in range(offset, upto):
                item = block.get(i)
                if item is not None:
                    yield index * BLOCK + i, item
            slot = index * BLOCK + max(upto, offset + 1)

    def page(
        self, cursor: int, limit: int, keep: Callable[[T], bool]
    ) -> tuple[list[T], int | None]:
        """Up to `limit` kept entries from slot `cursor` on, and the cursor of the next
        page (None at the end). Slots never move, so cursors stay valid after evictions."""
        page: list[T] = []
        for slot, item in self.entries(cursor):
            if len(page) == limit:
                return page, slot
            if keep(item):
                page.append(item)
        return page, None
