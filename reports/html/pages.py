"""HTML pages of the report. Static parts are rendered here with every value
escaped; the browsing pages are shells that ``assets/report.js`` fills from
the chunked data, as text only.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from devicex.safetext import visible

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "base-uri 'none'; form-action 'none'")
NAV = (("index.html", "Summary"), ("files.html", "Files"), ("gallery.html", "Pictures"),
       ("conversations.html", "Conversations"), ("calls.html", "Calls"), ("contacts.html", "Contacts"),
       ("web.html", "Web history"), ("places.html", "Places"),
       ("timeline.html", "Timeline"), ("mismatch.html", "Extension mismatches"), ("problems.html", "Problems"),
       ("marks.html", "Marks"), ("print.html", "Printable summary"))


def e(value: Any) -> str:
    """Escaped text of any value (None as an empty string); control and bidi characters shown as escapes."""
    return "" if value is None else escape(visible(value), quote=True)


def e_lines(text: str) -> str:
    """Like :func:`e` for text whose line breaks are meant (a scope file, indented JSON) in a ``<pre>``."""
    return "\n".join(e(line) for line in text.split("\n"))


def layout(page: str, title: str, body: str, case_title: str, generated: str, scripts: bool = True) -> str:
    current = ' aria-current="page"'
    nav = "".join(f'<a href="{href}"{current if href == page else ""}>{label}</a>' for href, label in NAV)
    script = ('<script src="data/case.js"></script>\n<script src="assets/report.js"></script>\n'
              '<script src="assets/activity.js"></script>\n<script src="assets/tags.js"></script>\n'
              if scripts else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · {e(case_title)}</title>
<link rel="stylesheet" href="assets/report.css">
{script}</head>
<body data-page="{e(page.removesuffix('.html'))}">
<header class="top"><div class="brand">devicex report · <span class="case">{e(case_title)}</span></div>
<nav>{nav}</nav></header>
<main>
<h1>{e(title)}</h1>
{body}
</main>
<footer>Generated {e(generated)} (UTC). Names, paths and metadata shown here come from the evidence and are shown
as text exactly as recorded.</footer>
</body>
</html>
"""


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "grid") -> str:
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else e(c)}</td>" for c in row) + "</tr>"
                   for row in rows) or f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>'

    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def kv(pairs: Iterable[tuple[str, Any]], cls: str = "kv") -> str:
    items = "".join(f"<tr><th scope=\"row\">{e(k)}</th><td>{v if isinstance(v, Raw) else e(v)}</td></tr>"
                    for k, v in pairs)
    return f'<table class="{cls}"><tbody>{items}</tbody></table>'


class Raw(str):
    """Markup built here from escaped parts (never from raw evidence text)."""


def browse_shell(kind: str, intro: str, controls: str = "", extra: str = "") -> str:
    return f"""<p class="intro">{intro}</p>{extra}
<div id="status" class="status" role="status">Loading data…</div>
<noscript><p class="warn">This page needs JavaScript (it runs only the report's own files).</p></noscript>
{controls}
<div id="{kind}-view" class="view"></div>"""


MARKS_BODY = """<p class="intro">Mark files (on their details in Files, in Pictures and Places) and
messages, calls, contacts and web history (on their pages) as relevant, possibly disclosable or sensitive,
with a note. Marks stay in this browser and change nothing in the report or the evidence. Export them here
and give the file to the examiner, who imports it into the case with <code>devicex tag import CASE FILE</code>
(recorded in the custody log). Marks already imported into the case are listed first and shown on the rows
with an <strong>IN CASE</strong> label; they are taken back only with <code>devicex tag remove</code>.</p>
<div id="status" class="status" role="status">Loading marks…</div>
<noscript><p class="warn">Marking needs JavaScript (it runs only the report's own files).</p></noscript>
<div id="marks-view" class="view"></div>"""


def date_controls(prefix: str) -> str:
    return (f'<label>From <input type="date" id="{prefix}-from"></label>'
            f'<label>To <input type="date" id="{prefix}-to"></label>')


FILES_CONTROLS = """<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="name, path, hash, type…"></label>
<label>Category <select id="f-category"><option value="">all</option></select></label>
<label>Allocation <select id="f-alloc"><option value="">all</option></select></label>
<label><input type="checkbox" id="f-mismatch"> extension mismatch only</label>
<label><input type="checkbox" id="f-files"> hide folders</label>
""" + date_controls("f") + """
<button type="reset" id="f-reset">Clear</button>
</form>
<div class="split"><aside id="tree" class="tree" aria-label="Folders"></aside>
<div><div id="files-table"></div><section id="detail" class="detail" aria-live="polite"></section></div></div>"""

TIMELINE_CONTROLS = """<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="path or description…"></label>
<label>Source <select id="f-source"><option value="">all</option></select></label>
""" + date_controls("t") + """
<button type="reset">Clear</button></form>"""

SIMPLE_CONTROLS = """<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="filter…"></label>
<button type="reset">Clear</button></form>"""

GALLERY_CONTROLS = """<form id="filters" class="filters" autocomplete="off">
<label class="grow">Search <input type="search" id="q" placeholder="name, path, camera…"></label>
<label><input type="checkbox" id="f-gps"> with GPS only</label>
<button type="reset">Clear</button></form>"""
