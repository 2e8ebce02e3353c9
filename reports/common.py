"""Helpers shared by the renderers: safe text for CSV and XML, atomic writes,
times as epoch numbers."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/FFFF).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def neutralise(value: Any) -> Any:
    """A CSV cell that spreadsheets will not run as a formula: text starting
    with ``= + - @``, tab or CR gets a leading apostrophe (OWASP advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xml_text(value: Any) -> str:
    """Text for an XML 1.0 document: characters XML cannot hold become ``\\xHH``
    / ``\\uHHHH`` escapes (the raw names stay in the case database)."""
    text = "" if value is None else str(value)
    return _XML_BAD.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def epoch(text: str | None) -> int:
    """Whole POSIX seconds of an ISO UTC time (0 when missing)."""
    if not text:
        return 0
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def epoch_micros(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@contextmanager
def atomic_text(path: Path, *, bom: bool = False, newline: str | None = "\n") -> Iterator[IO[str]]:
    """Write a text file via a temporary name, replaced only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline=newline,
              errors="replace") as fh:
        yield fh
    os.replace(tmp, path)
