"""Showing text that comes from evidence or from a bundle: the one place that
decides how a name, a message or a custody field is made safe to print.

A file name (or a tampered custody field) can hold control characters, ANSI
escape sequences, line breaks and Unicode bidirectional overrides. Printed
raw, they can clear a terminal, set its title, forge whole lines (a fake
``RESULT: PASS``) or show ``innocent<U+202E>gpj.exe`` as ``innocentexe.jpg``.
:func:`visible` writes every such character as a backslash escape
(``\\x1b``, ``\\x0a``, ``\\u202e``), so what is shown is what is there, on one
line, in its true order. Ordinary text (accents, scripts, emoji) is unchanged.
"""
from __future__ import annotations

import unicodedata

# Bidirectional formatting characters (Unicode UAX #9): embeddings, overrides, isolates and marks.
BIDI_CONTROLS = frozenset({0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})
# Categories never shown as themselves: controls, format characters (invisible: zero-width
# spaces, bidi controls...), surrogates (undecodable bytes), line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_KEEP_IN_EMOJI = frozenset({0x200D, 0xFE0F})  # zero-width joiner and emoji presentation selector


def _escape(ch: str) -> str:
    o = ord(ch)
    if o <= 0xFF:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def hidden(ch: str) -> bool:
    """True for a character that must not reach a terminal or page as itself."""
    o = ord(ch)
    if o < 0x20 or 0x7F <= o <= 0x9F or o in BIDI_CONTROLS:
        return True
    return o not in _KEEP_IN_EMOJI and unicodedata.category(ch) in _HIDDEN_CATEGORIES


def visible(text: object) -> str:
    """``text`` with every control, escape, line-break and bidi character
    written as a visible backslash escape; ``None`` becomes ``""``."""
    if text is None:
        return ""
    s = str(text)
    if s.isprintable():  # bidi and other format characters are not printable
        return s
    return "".join(_escape(ch) if hidden(ch) else ch for ch in s)
