"""Writing a whole file so that readers see the old content or the new, never a part."""
from __future__ import annotations

import os
from pathlib import Path

TMP_PREFIX = ".devicex-tmp-"  # a leftover with this prefix is an interrupted write (safe to delete)


def write_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over
    ``path``. ``private``: mode 0600 from the start (keys)."""
    tmp = path.with_name(TMP_PREFIX + path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    try:
        if private:
            os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
