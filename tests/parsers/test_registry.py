"""The parser lookup: ``for_type`` gives exactly the parsers whose own ``wants`` accepts the stream."""
from __future__ import annotations

import parsers
from devicex.parsing import ParserSpec


def _expected(mime: str, extension: str, path: str) -> list[ParserSpec]:
    return [s for s in parsers.registry() if s.wants(mime, extension, path)]


def _paths() -> list[str]:
    """Paths each ``PATHS`` pattern matches (``*`` as one folder, as several, as part of a name) and near misses."""
    out = ["", "/", "/a/b.jpg", "History", "/History", "/x/History.bak", "/x/history", "/places.sqlite"]
    for spec in parsers.registry():
        for pattern in spec.paths:
            for fill in ("data", "data/user/0", "2021-01-01"):
                path = "/" + pattern.replace("*", fill).lstrip("/")
                out += [path, path + "-wal", path.upper(), path[:-1], path.replace("/", "//", 1)]
    # fnmatch's * spans folders, in the last part of a pattern too
    out += ["/d/com.whatsapp/databases/msgstore/old/x.db.crypt14", "/d/com.whatsapp/databases/x.db.crypt14"]
    return out


def test_for_type_equals_every_parsers_own_answer() -> None:
    paths = _paths()
    wanted = 0
    for mime, extension in (("application/octet-stream", ""), ("application/vnd.sqlite3", "db"),
                            ("image/jpeg", "jpg"), ("text/plain", "crypt14")):
        for path in paths:
            got = parsers.for_type(mime, extension, path)
            assert got == _expected(mime, extension, path), (mime, extension, path)
            wanted += bool(got)
    assert wanted > len(paths)  # the paths do select parsers (the test is not vacuous)


def test_a_path_pattern_selects_whatever_the_type() -> None:
    names = [s.name for s in parsers.for_type("application/octet-stream", "",
                                              "/data/com.whatsapp/databases/msgstore/old/x.db.crypt14")]
    assert names == ["whatsapp_android"]
    assert parsers.for_type("application/octet-stream", "", "/data/com.whatsapp/databases/x.db.crypt13") == []
