"""Writes a :class:`reports.cps.blocks.Document` as an editable Word file laid out like the police forms
(a header box with the form number, small-print authority, then the body), with python-docx."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from docx import Document as new_docx
from docx.document import Document as WordDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table as WordTable

from devicex.fsutil import write_atomic
from reports.cps.blocks import Document, Heading, Para, Table

FONT = "Arial"
RED = RGBColor(0xB0, 0x00, 0x00)


def _base() -> WordDocument:
    doc = new_docx()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(1.6)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(10)
    style.paragraph_format.space_after = Pt(4)
    for name, size in (("Heading 1", 11), ("Heading 2", 10)):
        h = doc.styles[name]
        h.font.name, h.font.size, h.font.bold, h.font.color.rgb = FONT, Pt(size), True, RGBColor(0, 0, 0)
        h.paragraph_format.space_before, h.paragraph_format.space_after = Pt(8), Pt(3)
    return doc


def _header(doc: WordDocument, d: Document) -> None:
    box = doc.add_table(rows=1, cols=2)
    box.style, box.alignment = "Table Grid", WD_TABLE_ALIGNMENT.CENTER
    _widths(box, (13.5, 3.5))
    left, right = box.rows[0].cells
    run = left.paragraphs[0].add_run(d.subtitle)
    run.bold, run.font.size = True, Pt(12)
    note = left.add_paragraph().add_run(d.notice)
    note.font.size = Pt(8)
    form = right.paragraphs[0]
    form.alignment = WD_ALIGN_PARAGRAPH.CENTER
    r = form.add_run(d.title)
    r.bold, r.font.size = True, Pt(16)
    doc.add_paragraph()


def _para(doc: WordDocument, p: Para) -> None:
    para = doc.add_paragraph()
    run = para.add_run(p.text)
    if p.style == "supply":
        run.bold, run.font.highlight_color = True, WD_COLOR_INDEX.YELLOW
    elif p.style == "flag":
        run.font.color.rgb, run.bold = RED, True
    elif p.style == "small":
        run.font.size = Pt(8)


def _table(doc: WordDocument, t: Table) -> None:
    show_header = any(t.header)
    table = doc.add_table(rows=(1 if show_header else 0) + len(t.rows), cols=len(t.header))
    table.style = "Table Grid"
    all_rows = ([t.header] if show_header else []) + list(t.rows)
    for i, row in enumerate(all_rows):
        for j, value in enumerate(row):
            cell = table.rows[i].cells[j]
            run = cell.paragraphs[0].add_run(value)
            run.font.size = Pt(8.5)
            run.bold = show_header and i == 0 or (not show_header and j == 0)
            if "[EXAMINER TO" in value:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    _widths(table, t.widths or tuple(17.0 / len(t.header) for _ in t.header))
    doc.add_paragraph()


def _widths(table: WordTable, widths: tuple[float, ...]) -> None:
    """Column widths both as the grid (LibreOffice reads it) and per cell (Word reads that)."""
    table.autofit = False
    for j, w in enumerate(widths):
        table.columns[j].width = Cm(w)
        for cell in table.columns[j].cells:
            cell.width = Cm(w)


def write(d: Document, path: Path, generated: str) -> Path:
    doc = _base()
    moment = datetime.fromisoformat(generated.replace("Z", "+00:00"))
    props = doc.core_properties
    props.title, props.author, props.created, props.modified = f"{d.title} {d.subtitle}", "devicex", moment, moment
    props.last_modified_by, props.revision = "devicex", 1
    _header(doc, d)
    for block in d.blocks:
        if isinstance(block, Heading):
            doc.add_heading(block.text, level=block.level)
        elif isinstance(block, Table):
            _table(doc, block)
        else:
            _para(doc, block)
    buf = io.BytesIO()
    doc.save(buf)
    write_atomic(path, buf.getvalue())
    return path
