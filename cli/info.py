"""``devicex info`` and ``devicex ls``."""
from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli.base import EXIT_NOTHING_READ, console, fail
from devicex.entries import ALLOCATED, Entry
from devicex.errors import SourceError
from devicex.safetext import visible
from devicex.timeutil import iso
from pipelines import sourceinfo

_KIND_CHAR = {"file": "r", "dir": "d", "symlink": "l", "virtual": "v", "virtual-dir": "V", "other": "-",
              "hardlink": "h"}


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--no-hash", is_flag=True, help="Do not hash the whole media.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info(source: Path, no_hash: bool, as_json: bool) -> None:
    """What SOURCE is: container, hashes, partition table, file systems."""
    try:
        data = sourceinfo.describe(source, with_hashes=not no_hash)
    except SourceError as exc:
        raise fail(str(exc), EXIT_NOTHING_READ) from None
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    out = console.__class__(highlight=False)
    out.print(f"[bold]{escape(visible(data['path']))}[/]  container: {data['container']}  size: {data['size']} bytes"
              f"  segments: {len(data['segments'])}", markup=True)
    for algo, value in sorted(data.get("hashes", {}).items()):
        out.print(f"  {algo:7} {value}")
    for algo, value in sorted(data["stored_hashes"].items()):
        out.print(f"  stored {algo}: {visible(value)}  (check: {data.get('stored_hash_check', 'not run')})",
                  markup=False)
    out.print(f"partition table: {data['partition_table']}")
    vt = Table("volume", "start (bytes)", "length", "description", "allocated")
    for v in data["volumes"]:
        vt.add_row(_cell(v["label"]), str(v["start"]), str(v["length"]), _cell(v["description"]),
                   "yes" if v["allocated"] else "no")
    out.print(vt)
    ft = Table("file system", "offset", "type", "block size", "blocks")
    for f in data["filesystems"]:
        ft.add_row(_cell(f["label"]), str(f["offset"]), f["type"] + (" (forced)" if f["forced_type"] else ""),
                   str(f["block_size"] or "-"), str(f["block_count"] or "-"))
    out.print(ft)
    for p in data["problems"]:
        out.print(f"problem: volume {visible(p['volume'])}: {visible(p['message'])}", markup=False)
    if not data["filesystems"]:
        raise fail(f"{source}: no readable file system found", EXIT_NOTHING_READ)


def _cell(value: object) -> Text:
    """A table cell from the evidence: visible, and never read as rich markup."""
    return Text(visible(value))


def _ls_line(e: Entry, long: bool) -> str:
    kind = _KIND_CHAR.get(e.kind, "-")
    mark = "" if e.alloc == ALLOCATED else "* "
    realloc = "(realloc)" if e.realloc else ""
    where = e.address or visible(e.locator or "")  # TSK's address; an archive member's or folder entry's locator
    line = f"{kind}/{kind} {mark}{where}{realloc}:\t{visible(e.volume)}{visible(e.full_path)}"
    if long:
        times = (iso(t) or "-" for t in (e.mtime, e.atime, e.ctime, e.crtime))
        line += f"\t{e.size}\t" + "\t".join(times)
    return line


@click.command(name="ls")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-l", "--long", is_flag=True, help="Add size and MACB times (UTC).")
def ls_command(source: Path, long: bool) -> None:
    """List every entry recursively, like ``fls -r -p`` (deleted marked ``*``)."""
    count = 0
    try:
        for item in sourceinfo.listing(source):
            if isinstance(item, str):
                console.print(f"warning: {visible(item)}", markup=False)
                continue
            count += 1
            click.echo(_ls_line(item, long))
    except SourceError as exc:
        raise fail(str(exc), EXIT_NOTHING_READ) from None
    if count == 0:
        raise fail(f"{source}: nothing could be listed", EXIT_NOTHING_READ)
