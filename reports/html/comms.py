"""Communications pages of the HTML report: Conversations (threads and their
transcripts), Calls, Contacts and Web history, from the shared record kinds
(message, call, contact, web_visit, download) in case.db.

Data go out as chunk scripts like the other pages' (``data/<set>-NNNN.js``),
with their own index ``data/comms.js``. Messages are written thread by thread
in time order and each thread row names the chunks that hold its messages, so
opening a conversation loads only those: the thread list stays quick with
hundreds of thousands of messages. ``assets/comms.js`` builds the pages,
putting evidence into the DOM as text only.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reports.comms as comms
import reports.html.data as data
import reports.html.pages as pages
from devicex.safetext import visible
from reports.model import Case

THREAD_COLUMNS = ("thread", "app", "label", "participants", "participant_ids", "count", "first", "last",
                  "deleted", "chunk_from", "chunk_to", "duplicates")
MESSAGE_COLUMNS = ("thread", "time", "direction", "sender", "sender_id", "sender_name", "body", "attachments",
                   "deleted", "file_id", "source", "service", "status", "also_in", "subject", "id")
CALL_COLUMNS = ("time", "app", "direction", "type", "number", "number_id", "name", "duration", "video", "deleted",
                "file_id", "source", "id")
CONTACT_COLUMNS = ("name", "numbers", "number_ids", "emails", "account", "app", "deleted", "file_id", "source",
                   "time", "organisation", "id")
WEB_COLUMNS = ("time", "app", "kind", "url", "title", "detail", "synced", "deleted", "file_id", "source", "id")
MESSAGE_CHUNK = 2000
PAGES = (("conversations.html", "Conversations"), ("calls.html", "Calls"), ("contacts.html", "Contacts"),
         ("web.html", "Web history"))


def present(case: Case) -> bool:
    """True when the case holds any communication record (the pages are written then)."""
    return any(comms.count(case, k) for k in (comms.MESSAGE, comms.CALL, comms.CONTACT, comms.VISIT,
                                              comms.DOWNLOAD))


def write(case: Case, out: Path, page: Callable[[str, str, str], object]) -> dict[str, int]:
    """Write the data sets and the four pages (``page(name, title, body)`` lays one out)."""
    data_dir = out / "data"
    attach = _Attachments(case)
    writers = {n: data.ChunkWriter(data_dir, n, MESSAGE_CHUNK if n == "messages" else data.CHUNK_ROWS)
               for n in ("threads", "messages", "calls", "contacts", "web")}
    _threads(case, writers["threads"], writers["messages"], attach)
    for r in comms.records(case, comms.CALL):
        d = r["data"]
        writers["calls"].add([d.get("time_utc"), d.get("app"), d.get("direction"), d.get("call_type"),
                              d.get("number"), d.get("number_id"), d.get("name"), d.get("duration_s"), d.get("video"),
                              d.get("deleted"), r["file_id"], _source(r), r["id"]])
    for r in comms.records(case, comms.CONTACT):
        d = r["data"]
        writers["contacts"].add([d.get("name"), _texts(d.get("numbers")), _texts(d.get("number_ids")),
                                 _texts(d.get("emails")), d.get("account"), d.get("app"), d.get("deleted"),
                                 r["file_id"],
                                 _source(r), d.get("time_utc"), d.get("organisation"), r["id"]])
    for kind, label in ((comms.VISIT, "visit"), (comms.DOWNLOAD, "download")):
        for r in comms.records(case, kind):
            d = r["data"]
            detail = (f"visits: {d.get('visit_count')}" if d.get("visit_count") is not None else "") \
                if kind == comms.VISIT else f"{d.get('received_bytes') or 0:,} of {d.get('total_bytes') or 0:,} bytes"
            writers["web"].add([d.get("time_utc"), d.get("app"), label, d.get("url"),
                                d.get("title") if kind == comms.VISIT else d.get("target_path"), detail,
                                d.get("synced"), d.get("deleted"), r["file_id"], _source(r), r["id"]])
    for w in writers.values():
        w.flush()
    totals = {n: w.total for n, w in writers.items()}
    meta: dict[str, Any] = {"chunks": {n: w.chunks for n, w in writers.items()}, "totals": totals,
            "columns": {"threads": THREAD_COLUMNS, "messages": MESSAGE_COLUMNS, "calls": CALL_COLUMNS,
                        "contacts": CONTACT_COLUMNS, "web": WEB_COLUMNS}}
    scope = comms.scope_banner(case)  # a communications scope: what was taken and what was not, at the top
    shell = _banner_shell(scope)
    literal = json.dumps(json.dumps(meta, ensure_ascii=True, sort_keys=True), ensure_ascii=True)
    (data_dir / "comms.js").write_text(f"window.DVX_COMMS = JSON.parse({literal});\n", encoding="ascii")
    page("conversations.html", "Conversations", shell(
        "conversations", f"{totals['threads']:,} conversations, {totals['messages']:,} messages. Sent messages are "
        "on the right, received on the left; times are UTC unless a display zone is chosen. Messages marked "
        "deleted were found only in the database's main file (changed or deleted since its last checkpoint) or "
        "are flagged deleted by the app.", CONVERSATION_CONTROLS))
    page("calls.html", "Calls", shell("calls", f"{totals['calls']:,} calls from call logs.", PERSON_CONTROLS))
    page("contacts.html", "Contacts", shell("contacts", f"{totals['contacts']:,} contacts.", PERSON_CONTROLS))
    page("web.html", "Web history", shell(
        "web", f"{totals['web']:,} web visits and downloads. A synced visit happened on another device signed in "
        "to the same account.", PERSON_CONTROLS))
    return totals


def scripts(html: str) -> str:
    """A laid-out page with the communications scripts added after the report's own."""
    extra = ('<link rel="stylesheet" href="assets/comms.css">\n<script src="data/comms.js"></script>\n'
             '<script src="assets/comms.js"></script>\n')
    return html.replace("</head>", extra + "</head>", 1)


def _threads(case: Case, threads: data.ChunkWriter, messages: data.ChunkWriter, attach: _Attachments) -> None:
    for n, t in enumerate(comms.threads(case), start=1):
        first_chunk = messages.chunks + 1
        deleted = 0
        for m in t.messages:
            d = m["data"]
            deleted += bool(d.get("deleted"))
            messages.add([n, d.get("time_utc"), d.get("direction"), d.get("sender"), d.get("sender_id"),
                          d.get("sender_name"), _lines(d.get("body")), [_texts(attach.of(a, m["file_id"])) for a in
                                                                d.get("attachments") or []],
                          d.get("deleted"), m["file_id"], f"{m['path']} · {m['table']} {m['rowid']}", d.get("service"),
                          d.get("status"), _texts(m["also_in"]), d.get("subject"), m["id"]])
        last_chunk = messages.chunks + (1 if messages.rows else 0)
        times = [m["data"].get("time_utc") for m in t.messages if m["data"].get("time_utc")]
        threads.add([n, t.app, t.label, _texts(t.participants), _texts(t.participant_ids), len(t.messages),
                     min(times) if times else None, max(times) if times else None, deleted, first_chunk,
                     last_chunk, t.duplicates])


class _Attachments:
    """An attachment as [name, mime, size, href to the exported copy or "", is an image, device path]."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self._volume: dict[int, str] = {}
        self._export: dict[tuple[str, str], str | None] = {}

    def of(self, att: dict[str, Any], file_id: int) -> list[Any]:
        href = ""
        if att.get("path"):
            volume = self._volume.get(file_id)
            if volume is None:
                row = self.case.conn.execute("SELECT volume FROM files WHERE id = ?", (file_id,)).fetchone()
                volume = self._volume[file_id] = row[0] if row else ""
            key = (volume, str(att["path"]))
            if key not in self._export:
                row = self.case.conn.execute("SELECT export_path FROM files WHERE volume = ? AND path = ? "
                                             "AND export_path IS NOT NULL ORDER BY id LIMIT 1", key).fetchone()
                self._export[key] = row[0] if row else None
            href = data.href(self._export[key])
        mime = str(att.get("mime") or "")
        image = bool(href) and (mime.startswith("image/") or href.lower().endswith((".jpg", ".jpeg", ".png", ".gif",
                                                                                     ".webp")))
        return [att.get("name"), att.get("mime"), att.get("size"), href, image, att.get("device_path")]


def _lines(body: Any) -> list[str] | None:
    """A message's text as its lines, each with control and bidi characters shown as escapes
    (the data writer escapes line breaks too; a transcript keeps them)."""
    if body is None:
        return None
    return [visible(line) for line in str(body).split("\n")]


def _texts(values: Any) -> list[Any]:
    """Strings inside a list value, shown like every other text (the data writer escapes only
    top-level values)."""
    return [visible(v) if isinstance(v, str) else v for v in values or []]


def _source(r: dict[str, Any]) -> str:
    return f"{r['full_path']} · {r['source_table']} {r['source_rowid']}" if r["source_table"] else r["full_path"]


def _shell(kind: str, intro: str, controls: str) -> str:
    return pages.browse_shell(kind, pages.e(intro), controls)


def _banner_shell(scope: str | None) -> Callable[[str, str, str], str]:
    if scope is None:
        return _shell
    top = f'<p class="warn scope-banner" role="note"><strong>{pages.e(scope)}</strong></p>\n'
    return lambda kind, intro, controls: top + _shell(kind, intro, controls)


ZONE = ('<label>Display zone <select id="f-zone"><option value="UTC">UTC</option>'
        '<option value="Europe/London">Europe/London</option><option value="Europe/Dublin">Europe/Dublin</option>'
        '<option value="Europe/Paris">Europe/Paris</option><option value="America/New_York">America/New_York'
        '</option><option value="Asia/Dubai">Asia/Dubai</option><option value="Asia/Kolkata">Asia/Kolkata</option>'
        '</select></label>')
CONVERSATION_CONTROLS = f"""<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="name, number, app…"></label>
<label><input type="checkbox" id="f-text"> also search message text</label>
{ZONE}
<button type="reset">Clear</button></form>
<p id="person" class="person" hidden></p>
<div id="threads-table"></div>
<section id="transcript" class="transcript" aria-live="polite"></section>"""
PERSON_CONTROLS = f"""<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="filter…"></label>
{ZONE}
<button type="reset">Clear</button></form>
<p id="person" class="person" hidden></p>"""
