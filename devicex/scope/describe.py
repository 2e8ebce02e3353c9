"""The scope in plain English (``devicex scope check``, the report)."""
from __future__ import annotations

from typing import Any

from devicex.scope.constants import TIME_KINDS
from devicex.scope.model import Scope, Selection, show_offset


def describe(scope: Scope) -> str:
    """What the scope will and will not take, in plain English."""
    a = scope.authorisation
    lines = [f"Scope {scope.name} (SHA-256 {scope.sha256})"]
    if scope.title:
        lines.append(f"  {scope.title}")
    lines += ["", "Authorisation",
              f"  Legal basis: {a.legal_basis}", f"  Authorisation reference: {a.reference}",
              f"  Authorised by: {a.authorised_by}"
              + (f" on {a.authorised_on.isoformat()}" if a.authorised_on else ""),
              f"  Purpose / line of enquiry: {a.purpose}",
              "  Device user's written agreement: "
              + (f"obtained (Digital Processing Notice {a.dpn_reference})" if a.user_agreement
                 else "not obtained" + (f" (Digital Processing Notice {a.dpn_reference})"
                                        if a.dpn_reference else "")),
              f"  Less intrusive means considered: {a.less_intrusive_means}"]
    if a.notes:
        lines.append(f"  Notes: {a.notes}")
    lines += ["", "What will be taken"]
    if len(scope.selections) > 1:
        lines.append(f"  A file is taken if it matches ANY of these {len(scope.selections)} selections:")
    for sel in scope.selections:
        lines.append(f"  {sel.title[0].upper()}{sel.title[1:]}: a file is taken only if ALL of these hold:")
        lines += [f"    - {text}" for text in _selection_sentences(sel)]
    lines += ["", "What will never be taken"]
    if scope.exclude_paths:
        lines.append("  Anything whose path matches " + _or_list(g.pattern for g in scope.exclude_paths)
                     + ", even if a selection matches it.")
    lines += ["  Everything that no selection matches. It is left in the image: not exported, not parsed,",
              "  and not read beyond what the rules below need to decide. Only the number of such files",
              "  and their total size are recorded, per rule that excluded them"
              + (", together with their names and file-system metadata (list_excluded_metadata = true)."
                 if scope.list_excluded_metadata else "; not their names or content."),
              "  Folders are recorded only when they hold a file that is taken.",
              "", "What is read to decide"]
    need = scope.needs()
    if need == "metadata":
        lines.append("  File-system metadata only (names, paths, sizes, times): no file content is read "
                     "to decide.")
    else:
        if any(s.needs() != "metadata" for s in scope.selections):
            lines.append("  File-system metadata first; content only for files that pass the metadata rules:")
        if any((s.categories - {"messages"}) or s.mime_types for s in scope.selections):
            lines.append("  - file type rules (categories, MIME types) read the first 8 KiB (the signature);")
        if any(s.windows and any(t.startswith("exif") for t in s.times) for s in scope.selections):
            lines.append("  - EXIF time taken is read from the first 128 KiB;")
        if any(s.content_keywords or s.content_patterns for s in scope.selections):
            lines.append("  - keyword and pattern rules read the whole file (stored bytes, UTF-8 and "
                         "UTF-16LE for keywords; no decompression);")
        if any(s.sha256 or s.md5 for s in scope.selections):
            lines.append("  - hash rules read and hash the whole file.")
    return "\n".join(lines)


def _or_list(items: Any) -> str:
    items = [str(i) for i in items]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _selection_sentences(sel: Selection) -> list[str]:
    out = []
    if sel.paths:
        out.append("its path matches " + _or_list(g.pattern for g in sel.paths))
    if sel.extensions:
        out.append("its name ends in " + _or_list(f".{e}" for e in sorted(sel.extensions)))
    if sel.name_keywords:
        out.append("its name contains " + _or_list(repr(k) for k in sel.name_keywords) + " (any case)")
    if sel.name_patterns:
        out.append("its name matches the regular expression " + _or_list(repr(p.pattern) for p in sel.name_patterns))
    if sel.categories:
        cats = [_CATEGORY_WORDS[c] for c in sorted(sel.categories - {"messages"})]
        if cats:
            cats[-1] += " (type by file signature, not by name)"
        if "messages" in sel.categories:
            cats.append(_CATEGORY_WORDS["messages"])
        out.append("it is " + _or_list(cats))
    if sel.mime_types:
        out.append("its file signature's MIME type is " + _or_list(sel.mime_types))
    if sel.windows:
        times = _or_list(TIME_KINDS[t] for t in sel.times)
        text = (f"its {times} falls within " + _or_list(w.text() for w in sel.windows)
                + " (inclusive; a file without such a time is not taken")
        if any(t.startswith("exif") for t in sel.times):
            off = sel.exif_offset.utcoffset(None)
            text += f"; EXIF times recorded without a UTC offset are read as UTC{show_offset(off)}"
        out.append(text + ")")
    if sel.content_keywords:
        out.append("its content contains " + _or_list(repr(k) for k in sel.content_keywords) + " (any case)")
    if sel.content_patterns:
        out.append("its content matches the regular expression "
                   + _or_list(repr(p.pattern.decode("utf-8", "replace")) for p in sel.content_patterns))
    if sel.sha256 or sel.md5:
        parts = []
        if sel.sha256:
            parts.append(f"{len(sel.sha256)} SHA-256 value(s)")
        if sel.md5:
            parts.append(f"{len(sel.md5)} MD5 value(s)")
        out.append("its hash is in the list of " + " or ".join(parts))
    return out


_CATEGORY_WORDS = {
    "images": "an image", "videos": "a video", "audio": "an audio file", "documents": "a document",
    "text": "a text file", "archives": "an archive", "databases": "a database", "executables": "a program",
    "other": "of another type", "messages": "a message store (known SMS/chat database file names)",
}
