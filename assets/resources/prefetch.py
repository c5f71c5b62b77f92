"""Running a generator one item ahead on a worker thread.

Chained, these make a pipeline: each stage works on the next item while the
one after it consumes the current. It only pays where stages release the GIL
(SQLite, DuckDB, zlib on large buffers), which the journal reader's do.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Final, TypeVar, cast

T = TypeVar("T")
_DONE: Final = object()


def prefetched(source: Iterator[T]) -> Generator[T, None, None]:
    """Run `source` one item ahead on a worker thread; its errors surface in order.

    Closing (or abandoning) the returned generator stops the worker, which then
    closes `source` on its own thread, so what the source holds is released.
    """
    slot: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:
            put(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def consume() -> Generator[T, None, None]:
        worker = threading.Thread(target=produce, name="prefetch", daemon=True)
        worker.start()
        try:
            while True:
                item = slot.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield cast(T, item)
        finally:
            stop.set()
            worker.join()

    return consume()
