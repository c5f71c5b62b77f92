"""Is a file text at all? The first question every parser of dropped-in files asks.

One rule for the tick files (realtime.tick_file) and the alt-data inbox: a file
that is empty (or only whitespace), holds a NUL byte, or is not UTF-8 is refused
whole with EMPTY_FILE, BINARY_FILE or NOT_UTF8.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable


def not_text(chunks: Iterable[bytes]) -> tuple[str, str] | None:
    """(code, reason) for content that is not text, or None; reads the chunks once, so a
    large file can be checked without holding it in memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    blank = True
    try:
        for chunk in chunks:
            if b"\x00" in chunk:
                return "BINARY_FILE", "the file contains NUL bytes"
            blank = blank and not chunk.strip()
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return "NOT_UTF8", f"not UTF-8 text: {exc}"
    if blank:
        return "EMPTY_FILE", "the file is empty"
    return None
