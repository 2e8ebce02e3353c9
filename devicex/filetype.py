"""File type by signature (libmagic on the leading bytes), a category, and
whether the name's extension contradicts the signature.

Every head is typed as file(1) types the same bytes (MIME type and description), except plain prose
(:func:`plain_prose`), which libmagic types with its built-in tests alone, without the database scan
whose text rules are the costly part of typing text."""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import magic

HEAD_SIZE = 8192

_local = threading.local()


_NO_CHECK_SOFT = 0x0004000  # MAGIC_NO_CHECK_SOFT (magic.h): skip the database scan, keep the built-in tests


_KEYS = {(mime, scan): ("mime" if mime else "desc") + ("" if scan else "-builtin")
         for mime in (False, True) for scan in (False, True)}


def _magic(mime: bool, scan: bool = True) -> magic.Magic:
    """A per-thread libmagic handle: MIME type or description; with the database scan (as
    file(1)) or only libmagic's built-in tests (encoding/text, tar, CDF, JSON, CSV, ELF)."""
    key = _KEYS[mime, scan]
    m = getattr(_local, key, None)
    if m is None:
        m = magic.Magic(mime=mime)
        if not scan:
            magic.magic_setflags(m.cookie, m.flags | _NO_CHECK_SOFT)
        setattr(_local, key, m)
    return m


# libmagic's magic_buffer called directly (python-magic's own function object carries its error check,
# its lock and its decoding, a tenth of a stream's typing in Python for every call): the same C call
# on the same handle, its answer decoded as python-magic decodes it, its errors left to python-magic
_buffer = ctypes.CDLL(magic.libmagic._name).magic_buffer
_buffer.restype = ctypes.c_char_p
_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]


def _type(data: bytes, mime: bool, scan: bool = True) -> str:
    """``_magic(mime, scan).from_buffer(data)``: the same answer, fewer layers."""
    m = getattr(_local, _KEYS[mime, scan], None) or _magic(mime, scan)
    out = _buffer(m.cookie, data, len(data))
    if out is None:  # libmagic failed: python-magic's handling (an error, or its 5.09 bug's answer)
        return str(m.from_buffer(data))
    return out.decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class FileType:
    mime: str
    description: str
    category: str
    ext_mismatch: bool

    def __reduce__(self) -> tuple[type[FileType], tuple[str, str, str, bool]]:
        # rebuilt by the constructor (every worker result carries one): cheaper than the generic pickling
        return FileType, (self.mime, self.description, self.category, self.ext_mismatch)


_CATEGORY_BY_MIME_PREFIX = (
    ("image/", "image"), ("video/", "video"), ("audio/", "audio"), ("text/", "text"),
)
_CATEGORY_BY_MIME = {
    "application/pdf": "document", "application/msword": "document", "application/rtf": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "application/vnd.oasis.opendocument.text": "document", "application/vnd.ms-excel": "document",
    "application/vnd.ms-powerpoint": "document", "application/epub+zip": "document",
    "application/vnd.ms-outlook": "document", "application/vnd.visio": "document",
    "application/zip": "archive", "application/gzip": "archive", "application/x-tar": "archive",
    "application/x-7z-compressed": "archive", "application/x-rar": "archive",
    "application/x-bzip2": "archive", "application/x-xz": "archive", "application/vnd.rar": "archive",
    "application/vnd.sqlite3": "database", "application/x-sqlite3": "database",
    "application/x-dosexec": "executable", "application/x-executable": "executable",
    "application/x-sharedlib": "executable", "application/x-pie-executable": "executable",
    "application/x-mach-binary": "executable", "application/vnd.android.package-archive": "executable",
    "application/json": "text", "application/xml": "text", "application/javascript": "text",
}
# Extensions each MIME type may legitimately carry (lower case, no dot).
_EXPECTED_EXT = {
    "image/jpeg": {"jpg", "jpeg", "jpe", "jfif", "thm"},
    "image/png": {"png"}, "image/gif": {"gif"}, "image/bmp": {"bmp"}, "image/x-ms-bmp": {"bmp"},
    "image/tiff": {"tif", "tiff", "dng", "nef", "cr2", "arw"}, "image/webp": {"webp"},
    "image/heic": {"heic", "heif"}, "image/heif": {"heic", "heif"},
    "video/mp4": {"mp4", "m4v", "mov", "3gp"}, "video/quicktime": {"mov", "qt", "mp4"},
    "video/3gpp": {"3gp", "mp4"}, "video/x-msvideo": {"avi"}, "video/webm": {"webm"},
    "video/x-matroska": {"mkv", "webm"}, "audio/mpeg": {"mp3", "mpga"},
    "audio/x-wav": {"wav"}, "audio/ogg": {"ogg", "oga", "opus"}, "audio/x-m4a": {"m4a", "mp4"},
    "application/pdf": {"pdf"},
    "application/zip": {"zip", "docx", "xlsx", "pptx", "odt", "ods", "apk", "jar", "epub", "kmz"},
    "application/gzip": {"gz", "tgz"}, "application/vnd.sqlite3": {"db", "sqlite", "sqlite3", "sqlitedb", "db3"},
    "application/x-sqlite3": {"db", "sqlite", "sqlite3", "sqlitedb", "db3"},
    "application/x-dosexec": {"exe", "dll", "sys", "com", "scr", "cpl", "ocx", "efi"},
    "application/msword": {"doc", "dot", "wiz"}, "application/vnd.ms-excel": {"xls", "xlt", "xla"},
    "application/vnd.ms-powerpoint": {"ppt", "pps", "pot"},
}


def category_for(mime: str) -> str:
    if mime in _CATEGORY_BY_MIME:
        return _CATEGORY_BY_MIME[mime]
    for prefix, cat in _CATEGORY_BY_MIME_PREFIX:
        if mime.startswith(prefix):
            return cat
    if mime.startswith(("application/vnd.openxmlformats", "application/vnd.oasis")):
        return "document"
    return "other"


# Types libmagic can only tell apart on the whole file: an OLE compound document's directory
# (which says Word, Excel, PowerPoint, MSI ...) can lie anywhere in it. A stream whose head is
# typed as one of these is typed again on its whole content, as file(1) types a whole file.
WHOLE_FILE_TYPES = frozenset({"application/x-ole-storage", "application/CDFV2"})
WHOLE_FILE_LIMIT = 256 << 20  # bytes read again for it when the content is neither exported nor in memory


def identify_path(path: str | Path, extension: str) -> FileType:
    """Type a whole file (an exported copy) exactly as file(1) does."""
    desc = _magic(False).from_file(str(path))
    mime = _magic(True).from_file(str(path))
    return _filetype(mime, desc, extension)


def _filetype(mime: str, desc: str, extension: str) -> FileType:
    key = (mime, desc, extension)
    found = _FILETYPES.get(key)
    if found is None:  # (most streams share their type, description and extension with an earlier one)
        if len(_FILETYPES) >= 4096:
            _FILETYPES.clear()
        expected = _EXPECTED_EXT.get(mime)
        found = _FILETYPES[key] = FileType(mime, desc, category_for(mime),
                                           expected is not None and extension not in expected)
    return found


_FILETYPES: dict[tuple[str, str, str], FileType] = {}  # _filetype's answers (a FileType is immutable)


# Plain prose: ASCII letters, digits, white space and . , ' ? ! only (a note, a message, a log of words).
_PROSE = bytes(range(0x30, 0x3A)) + bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B)) + b" \t\n\r.,'?!"


def plain_prose(head: bytes) -> bool:
    """Whether ``head`` is plain prose, which :func:`identify` types with libmagic's built-in tests alone."""
    # its first bytes rule most heads out (binary data, markup, code) without a copy of the rest
    return not head[:64].translate(None, _PROSE) and not head.translate(None, _PROSE)


def identify(head: bytes, extension: str, whole: bool = False) -> FileType:
    """Type the leading bytes of a stream (or, ``whole``, all of it); ``extension`` is lower case, no dot."""
    if not head:
        return FileType("application/x-empty", "empty", "other", False)
    if whole:
        return _filetype(_type(head, True), _type(head, False), extension)
    if plain_prose(head):
        # Plain prose is typed by libmagic's built-in tests alone (encoding and line endings, JSON, CSV:
        # ``ASCII text``, ``text/plain``), without the database scan, whose text rules cost about 1.5 ms
        # per 8 KiB head (0.03 ms without). The scan can still find a type in such text (``file`` calls
        # a note opening with ``GIF89a`` a GIF image, one opening with ``Article`` saved news, and
        # ``from .a import b`` a Python script: tests/devicex/test_filetype.py lists them); on the
        # corpus, the fixtures and the bench tree the answer is file(1)'s for every stream
        # (tests/devicex/test_filetype_sets.py).
        return _filetype(_type(head, True, scan=False), _type(head, False, scan=False), extension)
    return identify_exact(head, extension)


def identify_exact(head: bytes, extension: str) -> FileType:
    """The MIME type and description file(1) gives for the same bytes, with one database scan where
    it is enough."""
    # The description always comes from libmagic's full database scan; the MIME type would need a
    # second scan. When the scan added nothing to the description (it equals the built-in tests'
    # own answer), no magic entry matched, so the MIME type is the built-in tests' one too; otherwise
    # the MIME type gets its full scan. Measured identical to two full scans on 98,604 files (the
    # bench tree, the corpus, fixtures, /etc, /usr/share/doc, /usr/bin, /usr/include, Python's
    # library); tests/devicex/test_filetype.py checks it over the standard library on every run.
    desc = _type(head, False)
    if desc == _type(head, False, scan=False):
        mime = _type(head, True, scan=False)
    else:
        mime = _type(head, True)
    return _filetype(mime, desc, extension)
