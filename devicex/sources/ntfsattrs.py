"""What the walk reads of an NTFS file's attributes, in one pass over them: its streams (each an entry of its
own, paired with its attribute so that nothing lists the file's attributes again to find it) and the times of
its first $FILE_NAME attribute."""
from __future__ import annotations

import struct
from datetime import datetime
from typing import Any

import pytsk3

from devicex.timeutil import from_filetime

_ATTR_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
_ATTR_IDXROOT = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXROOT)
_ATTR_FNAME = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_FNAME)
NO_TIMES: tuple[datetime | None, ...] = (None, None, None, None)

Stream = tuple[int, int, "str | None", int, Any]  # (attr_type, attr_id, stream name or None, size, attribute)


def read(file: pytsk3.File) -> tuple[list[Stream], tuple[datetime | None, ...]]:
    """The file's streams ($DATA attributes, and named index roots other than $I30) in attribute order, and its
    $FILE_NAME times (mtime, atime, ctime, crtime); none of either if its attributes cannot be listed."""
    try:
        attrs = list(file)
    except OSError:
        return [], NO_TIMES
    out: list[Stream] = []
    fname = None
    for attr in attrs:
        info = attr.info
        atype = int(info.type)
        if atype == _ATTR_FNAME:
            if fname is None and int(info.size) >= 40:
                fname = int(info.id)
            continue
        if atype != _ATTR_DATA and atype != _ATTR_IDXROOT:
            continue  # (its name is not read: no other type is a stream)
        raw = info.name
        name = raw.decode("utf-8", "backslashreplace") if raw else None
        if atype == _ATTR_DATA or (name and name != "$I30"):
            out.append((atype, int(info.id), name, int(info.size), attr))
    return out, NO_TIMES if fname is None else _fn_times(file, fname)


def _fn_times(file: pytsk3.File, attr_id: int) -> tuple[datetime | None, ...]:
    try:
        data = file.read_random(0, 40, _ATTR_FNAME, attr_id)
    except OSError:
        return NO_TIMES
    if len(data) < 40:
        return NO_TIMES
    cr, m, c, a = struct.unpack_from("<4Q", data, 8)
    # each time made once: a time equal to one before it is the same object (the four are often equal)
    mtime = from_filetime(m)
    atime = mtime if a == m else from_filetime(a)
    ctime = mtime if c == m else atime if c == a else from_filetime(c)
    crtime = mtime if cr == m else atime if cr == a else ctime if cr == c else from_filetime(cr)
    return mtime, atime, ctime, crtime
