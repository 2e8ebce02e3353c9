"""The output folder (OUT) is checked before anything is written to it.

* OUT may not contain the evidence (nor lie inside a folder given as the
  source): an extraction would read its own output, and sealing would carry
  the image into the bundle.
* Nothing inside OUT may be a symbolic link: a planted ``data/files/<volume>``
  link would send exports outside OUT, a ``data/case.db`` link would write the
  database elsewhere, a ``custody.jsonl`` link would append this case to another
  case's log. devicex never follows one; it refuses the folder with one line.

Files devicex opens for writing under OUT are also opened with ``O_NOFOLLOW``
(:func:`open_nofollow`), so a link planted after the check is not followed either.
"""
from __future__ import annotations

import os
from pathlib import Path

from devicex.errors import DevicexError


class OutputFolderError(DevicexError):
    """OUT cannot be used as it is."""


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_source_outside(out: Path, sources: list[Path]) -> None:
    real_out = os.path.realpath(out)
    for src in sources:
        real_src = os.path.realpath(src)
        if _inside(real_src, real_out):
            raise OutputFolderError(f"{out}: the output folder contains the evidence ({src}); choose an OUT "
                                    "outside the evidence's folder")
        if os.path.isdir(real_src) and _inside(real_out, real_src):
            raise OutputFolderError(f"{out}: the output folder is inside the evidence folder {src}; choose an OUT "
                                    "outside it")


def find_link(out: Path) -> Path | None:
    """The first symbolic link inside ``out`` (not following any), or None."""
    if not out.is_dir():
        return None
    for dirpath, dirnames, filenames in os.walk(out):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            if full.is_symlink():
                return full
    return None


def check_out(out: Path, sources: list[Path]) -> None:
    """Refuses an OUT that holds the evidence or any symbolic link (one line, naming it)."""
    if out.is_symlink() and not out.is_dir():
        raise OutputFolderError(f"{out}: a link that does not lead to a folder")
    check_source_outside(out, sources)
    link = find_link(out)
    if link is not None:
        raise OutputFolderError(f"{link}: a symbolic link inside the output folder (to {os.readlink(link)}); "
                                "devicex never writes through one: remove it")


def open_nofollow(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses to follow a link at ``path`` (one-line error)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, mode)
    except OSError as exc:
        if os.path.islink(path):
            raise OutputFolderError(f"{path}: a symbolic link inside the output folder; devicex never writes "
                                    "through one: remove it") from None
        raise exc
