"""Reading a sealed bundle, a folder or the zip ``seal --zip`` writes, without
ever writing to it: regular files by relative POSIX path, links and special
files listed apart, SQLite opened immutable (or deserialised for a zip)."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import urllib.parse
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from devicex.bagit import BundleError
from devicex.hashing import CHUNK


class BundleReader(ABC):
    """Regular files of the bundle by relative POSIX path; never writes."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.specials: list[str] = []

    @abstractmethod
    def chunks(self, rel: str) -> Iterator[bytes]:
        """The file's bytes in chunks."""

    def read(self, rel: str) -> bytes | None:
        return b"".join(self.chunks(rel)) if rel in self.files else None

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
        for dirpath, dirnames, filenames in os.walk(root):
            for name in sorted(dirnames + filenames):
                full = Path(dirpath) / name
                rel = full.relative_to(root).as_posix()
                mode = full.lstat().st_mode
                if stat.S_ISREG(mode):
                    self.files[rel] = full.lstat().st_size
                elif not stat.S_ISDIR(mode):
                    self.specials.append(rel)

    def chunks(self, rel: str) -> Iterator[bytes]:
        with open(self.root / rel, "rb") as fh:
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
        infos = [i for i in self.zf.infolist() if not i.is_dir()]
        roots = {i.filename.split("/", 1)[0] for i in infos}
        if len(roots) != 1 or any("/" not in i.filename for i in infos):
            raise BundleError(f"{path}: the zip must hold one bundle folder")
        self.prefix = roots.pop() + "/"
        self.names: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            rel = info.filename[len(self.prefix):]
            kind = stat.S_IFMT(info.external_attr >> 16)
            if rel in self.names or ".." in rel.split("/") or (kind and kind != stat.S_IFREG):
                self.specials.append(rel)
                continue
            self.names[rel] = info
            self.files[rel] = info.file_size

    def chunks(self, rel: str) -> Iterator[bytes]:
        with self.zf.open(self.names[rel]) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def sqlite(self, rel: str) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:")
        conn.deserialize(self.read(rel) or b"")
        return conn

    def close(self) -> None:
        self.zf.close()


def open_reader(path: Path) -> BundleReader:
    if path.is_dir():
        return DirReader(path)
    if path.is_file():
        return ZipReader(path)
    raise BundleError(f"{path}: no such bundle (a sealed folder or its zip)")
