"""Reading a sealed bundle, a folder or the zip ``seal --zip`` writes, without
ever writing to it: regular files by relative POSIX path; links, special files,
empty folders and anything that could not be read listed apart (verify fails
on them: it never passes what it could not see); SQLite opened immutable (from
a zip, streamed to a private temporary copy first). Content is only ever read
in chunks, never more than a member declares, and small files (tag files) are
only read whole up to :data:`MAX_WHOLE` bytes."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import tempfile
import urllib.parse
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from devicex.bagit import BundleError
from devicex.hashing import CHUNK

MAX_WHOLE = 64 << 20  # a tag file (manifests, custody log, bag-info) read whole: never more than this


class BundleReader(ABC):
    """Regular files of the bundle by relative POSIX path; never writes."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.specials: list[str] = []
        self.empty_dirs: list[str] = []
        self.unreadable: list[tuple[str, str]] = []  # (path, why): folders or entries that could not be read

    @abstractmethod
    def chunks(self, rel: str) -> Iterator[bytes]:
        """The file's bytes in chunks."""

    def read(self, rel: str) -> bytes | None:
        """The whole file, or None if absent or bigger than :data:`MAX_WHOLE` (verify reports that)."""
        if rel not in self.files or self.files[rel] > MAX_WHOLE:
            return None
        data = bytearray()
        for chunk in self.chunks(rel):
            data += chunk
            if len(data) > MAX_WHOLE:
                return None
        return bytes(data)

    def sha256(self, rel: str) -> str | None:
        h = hashlib.sha256()
        try:
            for chunk in self.chunks(rel):
                h.update(chunk)
        except (OSError, zipfile.BadZipFile) as exc:
            return f"unreadable: {exc}"
        return h.hexdigest()

    @abstractmethod
    def sqlite(self, rel: str) -> sqlite3.Connection:
        """A read-only connection to an SQLite file of the bundle."""

    def close(self) -> None:
        return None


class DirReader(BundleReader):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

        def unreadable(exc: OSError) -> None:
            rel = Path(exc.filename).relative_to(root).as_posix() if exc.filename else "."
            self.unreadable.append((rel, f"folder cannot be read: {exc.strerror}"))

        for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
            if not dirnames and not filenames and Path(dirpath) != root:
                self.empty_dirs.append(Path(dirpath).relative_to(root).as_posix())
            for name in sorted(dirnames + filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                try:
                    st = full.lstat()
                except OSError as exc:
                    self.unreadable.append((rel, f"cannot be examined: {exc.strerror}"))
                    continue
                if stat.S_ISREG(st.st_mode):
                    self.files[rel] = st.st_size
                elif not stat.S_ISDIR(st.st_mode):
                    self.specials.append(rel)

    def chunks(self, rel: str) -> Iterator[bytes]:
        fd = os.open(self.root / rel, os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def sqlite(self, rel: str) -> sqlite3.Connection:
        uri = "file:" + urllib.parse.quote(str((self.root / rel).resolve())) + "?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True)


class ZipReader(BundleReader):
    def __init__(self, path: Path) -> None:
        super().__init__()
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleError(f"{path}: not a readable zip: {exc}") from None
        self._copies: dict[str, Path] = {}
        infos = self.zf.infolist()
        roots = {i.filename.split("/", 1)[0] for i in infos}
        if len(roots) != 1 or any("/" not in i.filename for i in infos if not i.is_dir()):
            raise BundleError(f"{path}: the zip must hold one bundle folder")
        self.prefix = roots.pop() + "/"
        self.names: dict[str, zipfile.ZipInfo] = {}
        folders: set[str] = set()
        for info in infos:
            rel = info.filename[len(self.prefix):]
            kind = stat.S_IFMT(info.external_attr >> 16)
            if info.is_dir():
                if info.file_size or info.compress_size:
                    self.specials.append(rel)  # a "directory" carrying data
                elif rel:
                    folders.add(rel.rstrip("/"))
                continue
            if rel in self.names or ".." in rel.split("/") or (kind and kind != stat.S_IFREG):
                self.specials.append(rel)
                continue
            self.names[rel] = info
            self.files[rel] = info.file_size
        self.empty_dirs = sorted(d for d in folders if not any(f.startswith(d + "/") for f in self.names))

    def chunks(self, rel: str) -> Iterator[bytes]:
        # zipfile stops at the declared size and checks the CRC: a member never yields more than it declares
        with self.zf.open(self.names[rel]) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def sqlite(self, rel: str) -> sqlite3.Connection:
        copy = self._copies.get(rel)
        if copy is None:
            fd, name = tempfile.mkstemp(prefix="devicex-verify-", suffix=".db")
            copy = self._copies[rel] = Path(name)
            with open(fd, "wb") as out:
                for chunk in self.chunks(rel):
                    out.write(chunk)
        uri = "file:" + urllib.parse.quote(str(copy)) + "?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True)

    def close(self) -> None:
        self.zf.close()
        for copy in self._copies.values():
            copy.unlink(missing_ok=True)


def open_reader(path: Path) -> BundleReader:
    if path.is_dir():
        return DirReader(path)
    if path.is_file():
        return ZipReader(path)
    raise BundleError(f"{path}: no such bundle (a sealed folder or its zip)")
