"""Typing by signature against the `file` command (libmagic's own CLI, run
on the same bytes) as the independent truth; categories and mismatches."""
from __future__ import annotations

import subprocess
import sysconfig
from pathlib import Path

import magic
import pytest

import devicex.filetype as ft
from devicex.filetype import HEAD_SIZE, identify
from tests.conftest import CORPUS, FIXTURES

SAMPLES: dict[str, bytes] = {
    "page.html": b"<!DOCTYPE html>\n<html><head><title>x</title></head><body>hello</body></html>\n",
    "script.sh": b"#!/bin/sh\necho hello\nexit 0\n",
    "data.json": b'{"name": "value", "list": [1, 2, 3], "nested": {"a": true}}\n',
    "doc.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<root><item>1</item></root>\n',
    "notes.txt": b"meet at the station at nine\n" * 200,
    "utf8.txt": "café ☕ отчёт 日本語\n".encode() * 50,
    "crlf.txt": b"line one\r\nline two\r\n" * 30,
    "long.txt": b"x" * 5000 + b"\n",
    "table.csv": b"a,b,c\n1,2,3\n4,5,6\n",
    "latin1.txt": "naïve café résumé\n".encode("latin-1") * 20,
    "blob.bin": bytes(range(256)) * 40,
    "zeros.bin": bytes(6000),
    "pdf.pdf": b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "zip.zip": b"PK\x03\x04" + bytes(26) + b"\x00" * 40,
    # text whose type libmagic's database finds (a shortcut typing less of it got these wrong)
    "cert.pem": b"-----BEGIN CERTIFICATE-----\n" + b"MIIBszCCAVmgAwIBAgIUQ2Fm" * 3 + b"\n-----END CERTIFICATE-----\n",
    "doc.pod": b"=head1 NAME\n\nexample - a Perl POD document\n\n=head1 SYNOPSIS\n\n  example [options]\n\n=cut\n",
    "late.html": b"\n" * 3000 + b"<!DOCTYPE html>\n<html><body>late</body></html>\n",
    "Makefile": b"#!/usr/bin/make -f\nall:\n\techo hi\n",
}


def _file_cmd(path: Path) -> tuple[str, str]:
    mime = subprocess.run(["file", "-b", "--mime-type", str(path)], capture_output=True, text=True, check=True)
    desc = subprocess.run(["file", "-b", str(path)], capture_output=True, text=True, check=True)
    return mime.stdout.strip(), desc.stdout.strip()


def _corpus_and_fixture_files() -> list[Path]:
    paths = sorted((FIXTURES / "source-photos").rglob("*.*"))
    if (CORPUS / "exif-py").is_dir():
        paths += sorted(p for p in (CORPUS / "exif-py").iterdir() if p.is_file() and p.name != "LICENSE")
    return [p for p in paths if p.is_file()]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_same_type_as_the_file_command(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(SAMPLES[name][:HEAD_SIZE])  # the bytes devicex types: the leading 8 KiB
    ours = identify(SAMPLES[name][:HEAD_SIZE], name.rsplit(".", 1)[-1].lower())
    assert (ours.mime, ours.description) == _file_cmd(path)


def test_real_files_same_type_as_the_file_command(tmp_path: Path) -> None:
    files = _corpus_and_fixture_files()
    assert len(files) >= 10
    for src in files:
        head = src.read_bytes()[:HEAD_SIZE]
        cut = tmp_path / "head"
        cut.write_bytes(head)
        ours = identify(head, src.suffix.lower().lstrip("."))
        assert (ours.mime, ours.description) == _file_cmd(cut), src


def test_categories_and_mismatch() -> None:
    jpeg = (FIXTURES / "source-photos").rglob("*.jpg").__next__().read_bytes()[:HEAD_SIZE]
    assert identify(jpeg, "jpg").category == "image" and not identify(jpeg, "jpg").ext_mismatch
    assert identify(jpeg, "txt").ext_mismatch
    assert identify(SAMPLES["notes.txt"], "txt").category == "text"
    assert identify(SAMPLES["pdf.pdf"], "pdf").category == "document"
    assert identify(b"", "txt").mime == "application/x-empty"


def test_mime_taken_from_builtin_tests_only_when_that_is_exact() -> None:
    """identify_exact() skips the MIME scan when the description scan matched no magic entry; over a
    wide mix of real files (Python's standard library: sources, data, tests, binaries) its
    answers equal two full scans, and both paths (skipped, scanned) are exercised."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.rglob("*") if p.is_file() and not p.is_symlink())
    sample = files[:: max(1, len(files) // 1500)]
    mime_m, desc_m = magic.Magic(mime=True), magic.Magic()  # two full scans, as file(1)
    skipped = scanned = 0
    for path in sample:
        head = path.read_bytes()[:HEAD_SIZE]
        if not head:
            continue
        ours = ft.identify_exact(head, path.suffix.lower().lstrip("."))
        assert (ours.mime, ours.description) == (mime_m.from_buffer(head), desc_m.from_buffer(head)), path
        if ours.description == ft._magic(False, scan=False).from_buffer(head):
            skipped += 1
        else:
            scanned += 1
    assert skipped >= 50 and scanned >= 50, (skipped, scanned)


# Plain prose in which libmagic's database finds a type (first words that are a signature, a word-only
# Python import): the `file` command's answer, which devicex's plain-prose typing (built-in tests only)
# does not give (README.md, "Performance and limits").
PROSE_DEPARTURES = {
    b"GIF89a looks like a picture\nsecond line of the note.\n": ("image/gif", "GIF image data"),
    b"Article 5 of the agreement\nsecond line of the note.\n": ("message/news", "saved news"),
    b"begin 644 notes\nsecond line of the note.\n": ("text/plain", "uuencoded or xxencoded text"),
    b"RIFF was the word\nsecond line of the note.\n": ("text/plain", "RIFF (little-endian) data"),
    b"from .build import BuildApiMixin as BuildApiMixin\n": ("text/x-script.python", "Python script"),
}


@pytest.mark.parametrize("text", sorted(PROSE_DEPARTURES))
def test_plain_prose_departures_from_the_file_command(text: bytes, tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(text)
    mime, desc = _file_cmd(path)
    assert (mime, desc.split(",")[0]) == PROSE_DEPARTURES[text]
    assert ft.plain_prose(text)
    ours = identify(text, "txt")
    assert (ours.mime, ours.description, ours.category) == ("text/plain", "ASCII text", "text")
    assert ft.identify_exact(text, "txt").mime == mime  # the exact path gives file(1)'s answer


def test_plain_prose_is_letters_digits_white_space_and_light_punctuation() -> None:
    assert ft.plain_prose(b"Meet at the station at nine, don't be late!\r\nOK, see you.\n")
    for other in (b"meet at 10:30", b"well-known", b"-----BEGIN CERTIFICATE-----", b"x = 1", b"<p>hi</p>",
                  b"caf\xc3\xa9", b"#!/bin/sh", b"a\x00b", b"(see)"):
        assert not ft.plain_prose(other), other
