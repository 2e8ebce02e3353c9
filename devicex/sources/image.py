"""Opening evidence containers read-only: raw/dd, split raw and EWF (E01).

The PyPI pytsk3 wheel cannot read EWF itself, so E01 goes through
libewf-python (pyewf) behind a :class:`pytsk3.Img_Info` subclass. Split raw
goes through a small subclass that maps offsets onto segments.
"""
from __future__ import annotations

import bisect
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyewf
import pytsk3

from devicex.errors import SourceError, one_line
from devicex.sources.base import Layout, MediaReads
from devicex.sources.blockcache import MediaImg
from devicex.sources.volumes import discover

EWF_SIGNATURES = (b"EVF\x09\x0d\x0a\xff\x00", b"LVF\x09\x0d\x0a\xff\x00", b"EVF2\x0d\x0a\x81\x00")
_SPLIT_RE = re.compile(r"^(?P<base>.*)\.(?P<num>\d{3})$")


class EwfImgInfo(MediaImg):
    """A pytsk3 image backed by libewf, serialising reads across threads."""

    def __init__(self, handle: pyewf.handle) -> None:
        self._handle = handle
        self._lock = threading.Lock()
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        self._handle.close()

    def read_media(self, offset: int, size: int) -> bytes:
        with self._lock:
            data: bytes = self._handle.read_buffer_at_offset(size, offset)
        MediaReads.add(len(data))
        return data

    def get_size(self) -> int:
        return int(self._handle.get_media_size())


class SplitRawImgInfo(MediaImg):
    """A pytsk3 image over consecutive raw segments (``.001``, ``.002`` ...)."""

    def __init__(self, segments: list[Path]) -> None:
        self._files = [open(p, "rb") for p in segments]  # noqa: SIM115 - kept open for the image's life
        self._starts: list[int] = []
        total = 0
        for fh in self._files:
            self._starts.append(total)
            total += os.fstat(fh.fileno()).st_size
        self._size = total
        self._lock = threading.Lock()
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        for fh in self._files:
            fh.close()

    def read_media(self, offset: int, size: int) -> bytes:
        out = bytearray()
        with self._lock:
            while size > 0 and offset < self._size:
                idx = bisect.bisect_right(self._starts, offset) - 1
                fh = self._files[idx]
                fh.seek(offset - self._starts[idx])
                seg_end = self._starts[idx + 1] if idx + 1 < len(self._starts) else self._size
                chunk = fh.read(min(size, seg_end - offset))
                if not chunk:
                    break
                out += chunk
                offset += len(chunk)
                size -= len(chunk)
        MediaReads.add(len(out))
        return bytes(out)

    def get_size(self) -> int:
        return self._size


class RawImgInfo(MediaImg):
    """A pytsk3 image over one raw file or block device, opened read-only; positioned reads (no lock needed)
    counted in :class:`MediaReads`."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self._size = os.lseek(self._fd, 0, os.SEEK_END)  # a block device's size too
        except OSError:
            os.close(self._fd)
            raise
        super().__init__(url="", type=pytsk3.TSK_IMG_TYPE_EXTERNAL)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read_media(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        MediaReads.add(len(data))
        return data

    def read_media_into(self, offset: int, view: memoryview) -> int:
        count = os.preadv(self._fd, [view], offset)
        MediaReads.add(count)
        return count

    def get_size(self) -> int:
        return self._size


@dataclass
class Source:
    """An opened evidence source. ``img`` is what pytsk3 reads from."""

    path: Path
    container: str  # "raw", "split-raw", "ewf"
    segments: list[Path]
    size: int
    img: pytsk3.Img_Info
    stored_hashes: dict[str, str] = field(default_factory=dict)
    ewf_headers: dict[str, str] = field(default_factory=dict)
    countable = True

    @property
    def label(self) -> str:
        return self.path.name

    def layout(self) -> Layout:
        """Partitions and the file systems TSK opens in them."""
        return discover(self)

    def read(self, offset: int, size: int) -> bytes:
        """Read media bytes; short at the end of the media."""
        if offset >= self.size:
            return b""
        return self.img.read(offset, min(size, self.size - offset))

    def read_into(self, offset: int, view: memoryview) -> int:
        """:meth:`read` into ``view`` (reused buffers: no new memory per read); the count read."""
        if offset >= self.size:
            return 0
        view = view[:self.size - offset]
        if isinstance(self.img, MediaImg):
            return self.img.read_into(offset, view)
        data: bytes = self.img.read(offset, len(view))
        view[:len(data)] = data
        return len(data)

    def hold_blocks(self, capacity: int) -> None:
        """From now on keep the media blocks TSK reads, up to ``capacity`` bytes (see blockcache), until
        :meth:`release_blocks`: for the walk of the metadata, which reads the same blocks many times."""
        if isinstance(self.img, MediaImg):
            self.img.hold_blocks(capacity)

    def drain_blocks(self) -> None:
        """The walk is done: the blocks held go to the pass over the media (read from memory, not again from the
        media) and are let go as it goes by."""
        if isinstance(self.img, MediaImg):
            self.img.drain_blocks()

    def release_blocks(self) -> None:
        if isinstance(self.img, MediaImg):
            self.img.release_blocks()

    def close(self) -> None:
        close = getattr(self.img, "close", None)
        if callable(close):
            close()


def _split_segments(path: Path) -> list[Path] | None:
    m = _SPLIT_RE.match(path.name)
    if not m:
        return None
    base, first = m.group("base"), int(m.group("num"))
    siblings = {}
    for p in path.parent.iterdir():
        sm = _SPLIT_RE.match(p.name)
        if sm and sm.group("base") == base:
            siblings[int(sm.group("num"))] = p
    if len(siblings) < 2 and first not in (0, 1):
        return None
    numbers = sorted(n for n in siblings if n >= first)
    expected = list(range(first, first + len(numbers)))
    if numbers != expected:
        missing = sorted(set(range(first, numbers[-1] + 1)) - set(numbers))
        names = ", ".join(f"{base}.{n:03d}" for n in missing)
        raise SourceError(str(path), f"split raw segment missing: {names}")
    return [siblings[n] for n in numbers]


def _open_ewf(path: Path) -> Source:
    try:
        names = pyewf.glob(str(path))
        handle = pyewf.handle()
        handle.open(names)
    except (OSError, RuntimeError) as exc:
        raise SourceError(str(path), f"cannot open EWF image ({_first_line(exc)})") from None
    stored: dict[str, str] = {}
    for key, name in (("MD5", "md5"), ("SHA1", "sha1"), ("SHA256", "sha256")):
        try:
            value = handle.get_hash_value(key)
        except OSError:
            value = None
        if value:
            stored[name] = value.lower()
    headers: dict[str, str] = {}
    try:
        for key, value in sorted((handle.get_header_values() or {}).items()):
            headers[str(key)] = str(value)
    except OSError:
        pass  # header values are informative only; the image is still readable
    img = EwfImgInfo(handle)
    size = img.get_size()
    try:  # libewf opens a set with a missing segment and fails only on reads
        img.read(max(0, size - 512), min(512, size))
    except OSError as exc:
        found = ", ".join(sorted(Path(n).name for n in names))
        raise SourceError(str(path), f"EWF image incomplete: end of media unreadable (segments found: {found}): "
                                     f"{_first_line(exc)}") from None
    return Source(path, "ewf", [Path(n) for n in sorted(names)], img.get_size(), img, stored, headers)


def _first_line(exc: BaseException) -> str:
    """A short reason: libyal errors chain many clauses; keep the telling one."""
    text = one_line(exc)
    clauses = [c.split(": ", 1)[-1] for c in text.split(". ") if c]
    telling = [c for c in clauses if any(w in c for w in ("missing", "invalid", "corrupt", "unsupported"))]
    return (telling or clauses)[0].rstrip(".")


def open_image(p: Path, head: bytes) -> Source:
    """Open a disk image read-only (EWF, split raw, raw file or block device), or raise :class:`SourceError`."""
    if any(head.startswith(sig) for sig in EWF_SIGNATURES):
        return _open_ewf(p)
    if p.suffix.lower() in (".e01", ".ex01", ".l01"):
        raise SourceError(str(p), "named as EWF but has no EWF signature")
    segments = _split_segments(p)
    if segments and len(segments) > 1:
        img = SplitRawImgInfo(segments)
        return Source(p, "split-raw", segments, img.get_size(), img)
    try:
        img = RawImgInfo(p)
    except OSError as exc:
        raise SourceError(str(p), f"cannot open as raw image ({_first_line(exc)})") from None
    return Source(p, "raw", [p], int(img.get_size()), img)
