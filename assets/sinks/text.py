"""Is an inbox file text at all? The first question every text parser asks."""

from __future__ import annotations

from assets.sinks.files import ParsedFile


def text_or_refusal(data: bytes) -> str | ParsedFile:
    """The file as text, or a whole-file refusal saying why it is not text."""
    if not data.strip():
        return ParsedFile.refused_whole("EMPTY_FILE", "the file is empty", data)
    if b"\x00" in data:
        return ParsedFile.refused_whole("BINARY_FILE", "the file contains NUL bytes", data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ParsedFile.refused_whole("NOT_UTF8", f"not UTF-8 text: {exc}", data)
