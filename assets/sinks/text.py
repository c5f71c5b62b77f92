"""Is an inbox file text at all? `realtime.text_file`'s rule, as a whole-file refusal."""

from __future__ import annotations

from assets.sinks.files import ParsedFile
from realtime.text_file import not_text


def text_or_refusal(data: bytes) -> str | ParsedFile:
    """The file as text, or a whole-file refusal saying why it is not text."""
    problem = not_text([data])
    if problem is not None:
        return ParsedFile.refused_whole(*problem, data)
    return data.decode("utf-8-sig")
