"""The Sleuth Kit 3.x body file, as ``fls -m`` writes it, for ``mactime -b``.

``MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime``,
times in whole POSIX seconds (0 = unknown); the inode field is 0 for entries
that have no file-system address (archive members, files of a folder). Names are ``volume/path`` like
``fls -m VOLUME``; unallocated names get `` (deleted)`` as fls marks them.
The format is pipe-delimited and line-based: ``|`` and ``%`` in names are
written ``%7C`` and ``%25`` (mactime decodes ``%XX`` after splitting fields),
control characters as ``^`` like fls (the exact names stay in the case
database and the CSV/JSONL exports).
NTFS ``$FILE_NAME`` times are written as extra lines named ``... ($FILE_NAME)``
as fls does.
"""
from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from reports.common import atomic_text, epoch
from reports.model import Case, full_path

FORMAT = "bodyfile"  # the name `devicex report -f` knows this renderer by
DESCRIPTION = "bodyfile.txt: TSK 3.x body file for mactime"

_PERCENT = re.compile(r"[%|]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAME_TYPE = {"file": "r", "dir": "d", "symlink": "l", "virtual": "v", "virtual-dir": "V", "other": "-"}


def safe_name(text: str) -> str:
    return _CONTROL.sub("^", _PERCENT.sub(lambda m: f"%{ord(m.group()):02X}", text))


def mode_string(kind: str, mode: int | None) -> str:
    """``r/rrw-r--r--``: name type / meta type + permission bits, as TSK prints."""
    t = _NAME_TYPE.get(kind, "-")
    if mode is None:
        return f"{t}/{t}---------"
    perms = stat.filemode(mode)[1:]
    return f"{t}/{t}{perms}"


def line(f: dict[str, Any], fn: bool = False) -> str:
    name = full_path(f["volume"], f["path"], f["stream"])
    if f["alloc"] != "allocated":
        name += " (deleted-realloc)" if f["realloc"] else " (deleted)"
    if fn:
        name += " ($FILE_NAME)"
        times = (f["fn_atime"], f["fn_mtime"], f["fn_ctime"], f["fn_crtime"])
    else:
        times = (f["atime"], f["mtime"], f["ctime"], f["crtime"])
    fields = [f["md5"] or "0", safe_name(name), f["address"] or "0", mode_string(f["kind"], f["mode"]),
              str(f["uid"] or 0), str(f["gid"] or 0), str(f["size"] or 0), *(str(epoch(t)) for t in times)]
    return "|".join(fields) + "\n"


def render(case: Case) -> list[Path]:
    path = case.export_dir / "bodyfile.txt"
    with atomic_text(path) as fh:
        for f in case.files():
            fh.write(line(f))
            if any(f[k] for k in ("fn_mtime", "fn_atime", "fn_ctime", "fn_crtime")):
                fh.write(line(f, fn=True))
    return [path]
