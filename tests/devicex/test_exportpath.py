"""Export names can never escape the export root, and never overwrite each other."""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from devicex.exportpath import MAX_COMPONENT_BYTES, ExportNamer, sanitize_component

HOSTILE = ["../../evil.txt", "..", ".", "/etc/passwd", "a\\..\\..\\b", "nul\x00byte", "bell\x07", "CON",
           "con.txt", "LPT1", "aux", "x" * 400 + ".jpg", "trailing. ", "<script>alert(1)</script>",
           "\u202eexe.txt", "line\nbreak", "a:b", "", "é" * 200]


@pytest.mark.parametrize("name", HOSTILE)
def test_component_is_single_safe_name(name: str, tmp_path: Path) -> None:
    safe = sanitize_component(name)
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in ("", ".", "..")
    assert all(ord(c) >= 0x20 and c != "\x7f" for c in safe)
    assert len(safe.encode("utf-8")) <= MAX_COMPONENT_BYTES
    assert safe.split(".")[0].lower() not in ("con", "aux", "nul", "lpt1")
    # It really is creatable as one file directly inside the root.
    target = tmp_path / safe
    target.write_bytes(b"x")
    assert target.resolve().parent == tmp_path.resolve()


def test_percent_encoding_is_reversible_for_unsafe_chars() -> None:
    assert sanitize_component("a:b") == "a^3Ab"
    assert sanitize_component("100%") == "100^25"
    assert sanitize_component("x^y") == "x^5Ey"
    assert "%" not in sanitize_component("new%0Aline\n")
    assert sanitize_component("café ☕.txt") == "café ☕.txt"  # unicode kept as is


def _per_character(name: str) -> str:
    """What every character of ``name`` becomes, looked at one by one by its Unicode category."""
    return "".join("".join(f"^{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
                   if ch in '<>:"/\\|?*%^' or unicodedata.category(ch) in ("Cc", "Cs", "Cf", "Zl", "Zp") else ch
                   for ch in name)


def test_plain_ascii_names_are_written_as_a_per_character_look_writes_them() -> None:
    # plain ASCII names skip the per-character look: every ASCII character, alone and inside a name, and
    # characters beyond ASCII, come out as the look by category writes them
    names = [chr(c) for c in range(0x300)] + [f"a{chr(c)}b.txt" for c in range(0x300)]
    names += ["\ud800x", "a\u200bb", "a\u2028b", "a\u2029b", "a\ufeffb", "IMG_0001.JPG", "x" * 150 + "\u00e9"]
    for name in names:
        expected = _per_character(name)
        if expected in ("", ".", ".."):
            continue  # written differently as a whole (see test_component_is_single_safe_name)
        got = sanitize_component(name)
        if not expected.endswith((" ", ".")) and expected.split(".", 1)[0].lower().rstrip() not in ("con", "nul"):
            assert got == expected, repr(name)


def test_case_and_sanitising_collisions_get_suffixes() -> None:
    namer = ExportNamer()
    paths = [namer.assign_file("v", p, None) for p in ("/Readme.TXT", "/README.txt", "/readme.txt")]
    assert paths == ["v/Readme.TXT", "v/README~2.txt", "v/readme~3.txt"]
    assert len({p.casefold() for p in paths}) == 3
    # A deleted file with the same name as a live one in the same folder.
    assert namer.assign_file("v", "/a.jpg", None) == "v/a.jpg"
    assert namer.assign_file("v", "/a.jpg", None) == "v/a~2.jpg"


def test_streams_and_directories() -> None:
    namer = ExportNamer()
    assert namer.assign_dir("v", "/dir") == "v/dir"
    assert namer.assign_file("v", "/dir/notes.txt", "secret") == "v/dir/notes.txt^3Asecret"
    # a file and a directory with the same name (e.g. one deleted) do not clash
    assert namer.assign_file("v", "/dir", None) == "v/dir~2"


def test_no_traversal_through_directories(tmp_path: Path) -> None:
    namer = ExportNamer()
    namer.assign_dir("v", "/..")
    rel = namer.assign_file("v", "/../../../evil", None)
    final = (tmp_path / rel).resolve()
    assert os.path.commonpath([final, tmp_path.resolve()]) == str(tmp_path.resolve())
