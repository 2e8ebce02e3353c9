"""DFXML (Digital Forensics XML) in the element order fiwalk writes.

``<dfxml>`` with ``metadata``, ``creator``, ``source`` (image name, size,
hashes), then one ``<volume>`` per file system holding a ``<fileobject>`` per
entry: parent_object, filename, partition, id, name_type, filesize,
alloc/unalloc, used, inode, meta_type, mode, nlink (not recorded: omitted),
uid, gid, mtime, ctime, atime, crtime, link_target, byte_runs, hashdigest.

``byte_runs`` come from the case database's ``files.byte_runs`` (file, fs and
image offsets and length of each run, as fiwalk computes them; none for data
resident in the metadata); hashes are of the bytes devicex read. Text that XML 1.0 cannot hold is escaped (``\\xHH``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from reports.common import atomic_text, xml_text
from reports.model import Case

FORMAT = "dfxml"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "dfxml.xml in fiwalk's element order"

NS = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML"
NAME_TYPE = {"file": "r", "dir": "d", "symlink": "l", "virtual": "v", "virtual-dir": "V", "other": "-"}
META_TYPE = {"file": 1, "dir": 2, "symlink": 6, "virtual": 10, "virtual-dir": 11, "other": 0}
# fiwalk's order of fileobject children (tools/fiwalk/src/fiwalk_tsk.cpp, then content::write_record).
ORDER = ("parent_object", "filename", "partition", "id", "name_type", "filesize", "alloc", "unalloc", "used",
         "unused", "orphan", "compressed", "inode", "meta_type", "mode", "nlink", "uid", "gid", "mtime", "ctime",
         "atime", "crtime", "seq", "dtime", "bkup_time", "link_target", "byte_runs", "hashdigest")


def _el(name: str, value: Any, attrs: str = "") -> str:
    return f"<{name}{attrs}>{escape(xml_text(value))}</{name}>"


def fileobject(f: dict[str, Any], partition: int, seq_id: int, parent_inode: int | None) -> str:
    parts = ["    <fileobject>"]
    if parent_inode is not None:
        parts.append(f"      <parent_object><inode>{parent_inode}</inode></parent_object>")
    name = f["path"].lstrip("/") + (f":{f['stream']}" if f["stream"] else "")
    parts.append("      " + _el("filename", name))
    parts.append(f"      <partition>{partition}</partition>")
    parts.append(f"      <id>{seq_id}</id>")
    parts.append("      " + _el("name_type", NAME_TYPE.get(f["kind"], "-")))
    parts.append(f"      <filesize>{int(f['size'] or 0)}</filesize>")
    parts.append("      <alloc>1</alloc>" if f["alloc"] == "allocated" else "      <unalloc>1</unalloc>")
    if f["alloc"] == "orphan":
        parts.append("      <orphan>1</orphan>")
    if f["inode"] is not None:  # no inode off file systems (archives, folders)
        parts.append(f"      <inode>{int(f['inode'])}</inode>")
    parts.append(f"      <meta_type>{META_TYPE.get(f['kind'], 0)}</meta_type>")
    for key in ("mode", "uid", "gid"):
        if f[key] is not None:
            parts.append(f"      <{key}>{int(f[key])}</{key}>")
    for key in ("mtime", "ctime", "atime", "crtime"):
        if f[key]:
            parts.append("      " + _el(key, f[key]))
    if f["link_target"]:
        parts.append("      " + _el("link_target", f["link_target"]))
    runs = _byte_runs(f)
    if runs:
        parts.append(runs)
    for algo in ("md5", "sha1", "sha256"):
        if f[algo]:
            parts.append("      " + _el("hashdigest", f[algo], f" type='{algo}'"))
    parts.append("    </fileobject>\n")
    return "\n".join(parts)


def _byte_runs(f: dict[str, Any]) -> str:
    raw = f.get("byte_runs")
    if not raw:
        return ""
    try:
        runs = json.loads(raw)
    except ValueError:
        return ""
    lines = ["      <byte_runs>"]
    for r in runs if isinstance(runs, list) else []:
        if not isinstance(r, dict):
            continue
        attrs = " ".join(f"{k}={quoteattr(str(int(r[k])))}" for k in ("file_offset", "fs_offset", "img_offset", "len")
                         if isinstance(r.get(k), int))
        lines.append(f"       <byte_run {attrs}/>")
    lines.append("      </byte_runs>")
    return "\n".join(lines)


def _header(fh: IO[str], case: Case) -> None:
    fh.write("<?xml version='1.0' encoding='UTF-8'?>\n")
    fh.write(f"<dfxml xmlns='{NS}'\n  xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'\n"
             "  xmlns:dc='http://purl.org/dc/elements/1.1/'\n  version='1.0'>\n")
    fh.write("  <metadata>\n    <dc:type>Disk Image</dc:type>\n  </metadata>\n")
    program, _, version = case.tool.partition(" ")
    fh.write("  <creator version='1.0'>\n")
    fh.write(f"    {_el('program', program)}\n    {_el('version', version)}\n")
    fh.write("    <execution_environment>\n      <command_line>devicex report --format dfxml</command_line>\n")
    fh.write(f"      {_el('start_time', case.generated)}\n    </execution_environment>\n  </creator>\n")
    for src in case.sources():
        fh.write("  <source>\n")
        fh.write(f"    {_el('image_filename', src['name'])}\n    <imagesize>{int(src['size'])}</imagesize>\n")
        for algo in ("md5", "sha1", "sha256"):
            if src[algo]:
                attr = f" type='{algo}'"
                fh.write(f"    {_el('hashdigest', src[algo], attr)}\n")
        fh.write("  </source>\n")


def render(case: Case) -> list[Path]:
    path = case.export_dir / "dfxml.xml"
    fss = case.filesystems()
    dirs: dict[tuple[int, str], int] = {
        (r[0], r[1]): int(r[2])
        for r in case.conn.execute("SELECT fs_id, path, inode FROM files WHERE kind IN ('dir', 'virtual-dir') "
                                   "AND inode IS NOT NULL")}
    seq_id = 0
    with atomic_text(path) as fh:
        _header(fh, case)
        for partition, fs in enumerate(fss, start=1):
            fh.write(f"  <volume offset='{int(fs['offset'])}'>\n")
            fh.write(f"    <partition_offset>{int(fs['offset'])}</partition_offset>\n")
            if fs["block_size"]:
                fh.write(f"    <block_size>{int(fs['block_size'])}</block_size>\n")
            fh.write(f"    {_el('ftype_str', fs['fs_type'])}\n")
            if fs["block_count"]:
                fh.write(f"    <block_count>{int(fs['block_count'])}</block_count>\n")
            for f in case.files("fs_id = ?", (fs["id"],)):
                seq_id += 1
                parent = f["path"].rsplit("/", 1)[0] or "/"
                parent_inode = dirs.get((fs["id"], parent))
                fh.write(fileobject(f, partition, seq_id, parent_inode))
            fh.write("  </volume>\n")
        fh.write("</dfxml>\n")
    return [path]
