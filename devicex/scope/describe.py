"""The scope in plain English (``devicex scope check``, the report)."""
from __future__ import annotations

from typing import Any

from devicex.scope import comms
from devicex.scope.constants import TIME_KINDS
from devicex.scope.model import Scope, Selection, Window, show_offset


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
        what = "A file or record" if scope.comms_selections else "A file"
        lines.append(f"  {what} is taken if it matches ANY of these {len(scope.selections)} selections:")
    for sel in scope.selections:
        if sel.comms is not None:
            lines.append(f"  {sel.title[0].upper()}{sel.title[1:]}: communications records, not files:")
            lines += [f"    - {text}" for text in _comms_sentences(sel)]
            continue
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
              *_comms_left(scope),
              "", "What is read to decide"]
    need = scope.needs()
    if scope.comms_selections:
        lines.append("  Communications: the known app databases (and their -wal/-journal) are read in full, from a "
                     "private scratch copy outside the output folder, to pick out the records; other files are "
                     "decided as below.")
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


def _comms_sentences(sel: Selection) -> list[str]:
    c = sel.comms
    assert c is not None
    out = ["it takes " + _or_list(comms.kinds_words(c.kinds)).replace(" or ", " and ")
           + " as records; the databases that hold them are read but not exported"]
    if c.participants:
        people = _or_list(comms.show_identity(i) for i in sorted(c.identities))
        out.append(f"only those between the device user and {people} (numbers read as in {c.region}; the same "
                   "number stored any way, a WhatsApp identity or a contact card's number all count)")
        if "contact" in c.kinds:
            out.append("contact cards only of those people")
    if c.group_chats:
        out.append(f"in a group chat one of them is in: {comms.GROUP_CHATS[c.group_chats]}")
    if c.apps:
        out.append("only from " + _or_list(comms.APPS[a] for a in sorted(c.apps)))
    if sel.windows:
        out.append("only those timed within " + _or_list(w.text() for w in sel.windows)
                   + " (inclusive; contact cards are not limited by time); a record with no time recorded is "
                   "not taken, and counted as such")
    if c.participants:
        out.append("a record whose person cannot be identified (a WhatsApp linked identity without its "
                   "mapping) is not taken, and counted as \"identity could not be resolved\"")
    out.append("attachments are exported only for the messages taken")
    return out


def _comms_left(scope: Scope) -> list[str]:
    if not scope.comms_selections:
        return []
    return ["  Communications records no selection takes: not written anywhere in the output, not even",
            "  temporarily. Only their number is recorded, per kind and per rule that left them."]


def banner(scope: Scope) -> str | None:
    """What the communications selections take, in one plain sentence (the top of the report's
    communications pages), e.g. "Only messages and calls between the device user and
    +44 7700 900123, 1 to 7 March 2024 (UTC)."; None if the scope has none."""
    parts = []
    for sel in scope.comms_selections:
        c = sel.comms
        assert c is not None
        text = _join_and(comms.kinds_words(c.kinds))
        if c.participants:
            text += " between the device user and " + _or_list(comms.show_identity(i) for i in sorted(c.identities))
        if c.apps:
            text += " (" + _or_list(comms.APP_WORDS[a] for a in sorted(c.apps)) + ")"
        if sel.windows:
            text += ", " + _join_and([_window_words(w) for w in sel.windows]) + " (UTC)"
        parts.append(text)
    if not parts:
        return None
    return "Only " + "; and ".join(parts) + "."


def _join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _window_words(w: Window) -> str:
    start, end = w.start, w.end
    whole = (start.hour, start.minute, start.second) == (0, 0, 0) and (end.hour, end.minute) == (23, 59)
    if not whole:
        return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    if start.date() == end.date():
        return f"{start.day} {start:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} to {end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%B} to {end.day} {end:%B %Y}"
    return f"{start.day} {start:%B %Y} to {end.day} {end:%B %Y}"
