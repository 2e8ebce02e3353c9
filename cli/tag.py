"""``devicex tag``: investigators' marks on items of a case (add from the command line, import a tags file, remove
a mark with the reason)."""
from __future__ import annotations

from pathlib import Path

import click

from cli.base import EXIT_USAGE, console, fail
from cli.options import examiner_identity_options
from devicex.custody import Actor
from devicex.tags import MARKS, ImportResult, TagError, import_tags, make_tag, read_file, remove_tags
from devicex.timeutil import iso, now_utc


def _root(case_path: Path) -> Path:
    from reports.model import CaseError, locate

    try:
        return locate(case_path).resolve()
    except CaseError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def _case_ref(root: Path) -> str | None:
    from devicex.casedb import connect

    conn = connect(root / "data" / "case.db", readonly=True)
    try:
        row = conn.execute("SELECT case_ref FROM runs ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    return row["case_ref"] if row else None


def _done(root: Path, result: ImportResult) -> None:
    click.echo(f"{result.added} tag(s) added, {result.already_held} already held"
               + (f" (custody seq {result.custody_seq})" if result.custody_seq else ""))
    if result.added:
        _sealed_note(root)


def _sealed_note(root: Path) -> None:
    if (root / "bagit.txt").is_file():
        console.print("note: this bundle was sealed; re-seal it (`devicex seal OUT --accept-changes REASON`) so its "
                      "manifest covers the new case.db", markup=False)


@click.group()
def tag() -> None:
    """Mark items of a case as relevant, possibly disclosable or sensitive, or take a mark back (own table of
    case.db, one custody entry per import or removal; evidence and other rows never change)."""


@tag.command("add")
@click.argument("case_path", metavar="CASE_OR_BUNDLE", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1, required=True, metavar="ITEM...")
@click.option("--mark", type=click.Choice(MARKS), required=True, help="What the mark says.")
@click.option("--note", default="", help="Why (required for sensitive: the reason for sensitivity).")
@click.option("--at", "at", default=None, help="When the mark was made (ISO 8601 with zone).  [default: now]")
@examiner_identity_options
def add(case_path: Path, items: tuple[str, ...], mark: str, note: str, at: str | None, examiner: str,
        examiner_id: str | None) -> None:
    """Mark ITEM... (file:N or record:N, the case.db row ids the report shows) of CASE_OR_BUNDLE."""
    root = _root(case_path)
    try:
        tags = [make_tag(item, mark, note, examiner, at or iso(now_utc()) or "") for item in items]
        result = import_tags(root, tags, Actor(examiner_id or examiner, examiner), "command line")
    except (ValueError, TagError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    _done(root, result)


@tag.command("import")
@click.argument("case_path", metavar="CASE_OR_BUNDLE", type=click.Path(path_type=Path))
@click.argument("tags_file", type=click.Path(path_type=Path))
@examiner_identity_options
def import_command(case_path: Path, tags_file: Path, examiner: str, examiner_id: str | None) -> None:
    """Import TAGS_FILE (devicex-tags JSON, as the HTML report exports it) into CASE_OR_BUNDLE.
    All tags or none; tags already held are not added again."""
    root = _root(case_path)
    try:
        tags, paths = read_file(tags_file, _case_ref(root))
        result = import_tags(root, tags, Actor(examiner_id or examiner, examiner), f"file {tags_file.name}",
                             input_file=tags_file, paths=paths)
    except TagError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    _done(root, result)


@tag.command("remove")
@click.argument("case_path", metavar="CASE_OR_BUNDLE", type=click.Path(path_type=Path))
@click.argument("items", nargs=-1, required=True, metavar="ITEM...")
@click.option("--reason", required=True, help="Why the mark is taken back (recorded in case.db and custody).")
@click.option("--mark", type=click.Choice(MARKS), default=None,
              help="Remove only this mark.  [default: every mark held on ITEM]")
@examiner_identity_options
def remove(case_path: Path, items: tuple[str, ...], reason: str, mark: str | None, examiner: str,
           examiner_id: str | None) -> None:
    """Take back the marks held on ITEM... (file:N or record:N) of CASE_OR_BUNDLE. Each removed mark keeps its
    row in case.db with who removed it, when and why, and one 'tags-remove' custody entry records the removal.
    An ITEM with no such mark is an error and nothing is removed."""
    root = _root(case_path)
    try:
        result = remove_tags(root, items, mark, reason, Actor(examiner_id or examiner, examiner))
    except TagError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    click.echo(f"{result.removed} mark(s) removed (custody seq {result.custody_seq})")
    _sealed_note(root)
