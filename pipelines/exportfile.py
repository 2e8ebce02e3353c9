"""Export files: each written to a per-process staging folder (sparse where the stream is), then moved
into place under ``data/files`` without ever overwriting a file (identical content kept, different
content written beside it as ``name~vN.ext``)."""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from devicex.hashing import Digests, sha256_file
from devicex.outdir import open_nofollow

HOLE = 64 << 10  # all-zero runs of this size (aligned in the stream) are left as holes in the export
_ZERO = bytes(HOLE)


def write_sparse(fd: int, data: bytes | bytearray | memoryview, at: int) -> bool:
    """Write ``data`` at offset ``at`` of the file ``fd``, leaving its all-zero blocks of ``HOLE`` bytes
    (counted from the start of ``data``) unwritten, so a sparse stream is exported sparse (its bytes read
    back the same once the file's length is set). The blocks in between go in one write each run. True if
    the last byte of ``data`` was written (the file then reaches its end), False if it lies in a hole."""
    if len(data) < HOLE and os.pwrite(fd, data, at) == len(data):  # too short for a hole (most streams)
        return True  # (a short write is written again whole below: positioned writes of the same bytes)
    view = memoryview(data)
    size = len(view)
    start = 0  # the first byte not yet written or skipped
    if size >= HOLE:
        for block in range(0, size - HOLE + 1, HOLE):
            if view[block:block + HOLE] == _ZERO:
                _write_at(fd, view[start:block], at + start)
                start = block + HOLE
    _write_at(fd, view[start:], at + start)
    return start < size


def _write_at(fd: int, view: memoryview, at: int) -> None:
    while view:
        done = os.pwrite(fd, view, at)
        if done <= 0:
            raise OSError(errno.EIO, "export write wrote nothing")
        view, at = view[done:], at + done


_made_dirs: set[str] = set()  # export folders this process has made (saves a mkdir call per file)
STAGING = ".staging"  # data/.staging/PID/: export temp files, renamed into place when complete


def staging_dir(data_dir: Path) -> str:
    """This process's folder for export temp files. Writing them next to their targets made two workers
    create and rename in the same folder at once, contending for its lock; here each worker has its own
    folder and the target folder sees one operation per file (the no-clobber rename)."""
    known = _staging.get(_pid)
    if known is not None and known[0] is data_dir:
        return known[1]
    folder = str(data_dir / STAGING / str(_pid))
    _staging[_pid] = (data_dir, folder)
    return folder


_staging: dict[int, tuple[Path, str]] = {}  # staging_dir's last answer in each process (asked for every stream)
_pid = os.getpid()  # this process's id (asked for every stream: a system call each time), set again in a child


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def remove_staging(data_dir: Path) -> None:
    """Remove the temp folders (empty unless a worker died mid-file) and forget which folders
    this process made: called before and after each run."""
    shutil.rmtree(data_dir / STAGING, ignore_errors=True)
    _made_dirs.clear()


def make_dir(folder: str, again: bool = False) -> None:
    if again or folder not in _made_dirs:
        os.makedirs(folder, exist_ok=True)
        _made_dirs.add(folder)


def create(tmp: str) -> int:
    """Open a new export temp file (a file descriptor: written with :func:`write_sparse`), making its
    (staging) folder once per process."""
    folder = tmp.rpartition("/")[0]
    make_dir(folder)
    try:
        return _open_new(tmp)
    except FileNotFoundError:  # a folder went away since (another run into a recreated OUT)
        make_dir(folder, again=True)
        return _open_new(tmp)


def _open_new(tmp: str) -> int:
    """The temp file, never through a link planted at its name."""
    return open_nofollow(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)


def place(tmp: str, target: str, digests: Digests) -> tuple[str, bool]:
    """Move a finished export into place without ever overwriting a file.

    A later run into the same OUT (a widened scope) finds its exports already
    there: identical content is kept as it is (not rewritten; reported as
    reused), different content goes to ``name~vN.ext`` instead. Targets are
    claimed with O_EXCL so concurrent workers cannot clobber each other.
    """
    candidate, n = target, 1
    while True:
        try:
            if _rename_noreplace(tmp, candidate):
                return candidate, False
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            if same_content(candidate, digests):
                os.unlink(tmp)
                return candidate, True
            n += 1
            folder, _, name = target.rpartition("/")
            stem, dot, ext = name.rpartition(".")
            candidate = f"{folder}/{stem}~v{n}.{ext}" if dot and stem else f"{folder}/{name}~v{n}"
            continue
        os.replace(tmp, candidate)
        return candidate, False


_AT_FDCWD, _RENAME_NOREPLACE = -100, 1
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()  # as os.fsencode
_renameat2: Callable[..., int] | None = None
if sys.platform.startswith("linux"):
    try:
        _function = ctypes.CDLL(None, use_errno=True).renameat2
        # its C types declared: ctypes converts the arguments without working out each one's type per call
        _function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        _function.restype = ctypes.c_int
        _renameat2 = _function
    except (OSError, AttributeError):
        _renameat2 = None


def _rename_noreplace(tmp: str, target: str) -> bool:
    """Rename ``tmp`` to ``target`` in one call that fails if ``target`` exists (Linux
    renameat2 RENAME_NOREPLACE: no empty placeholder to create and replace).
    True if done, False if not supported here (the caller claims with O_EXCL);
    raises FileExistsError if ``target`` exists."""
    global _renameat2
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, tmp.encode(_FS_ENCODING, _FS_ERRORS), _AT_FDCWD, target.encode(_FS_ENCODING, _FS_ERRORS),
                  _RENAME_NOREPLACE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # file system or kernel without it
        _renameat2 = None
        return False
    raise OSError(err, os.strerror(err), target)  # EEXIST makes a FileExistsError


def same_content(path: str, digests: Digests) -> bool:
    try:
        if os.stat(path).st_size != digests.size:
            return False
        return sha256_file(path)[0] == digests.sha256
    except OSError:
        return False
