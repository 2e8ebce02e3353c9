"""A scope given as command-line options (--scope-set) is validated like a
file, recorded as the equivalent TOML, and takes exactly what the file would."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import IMAGES, TRUTH

PHONE = IMAGES / "phone.img"
AUTH = [
    "authorisation.legal_basis=Police, Crime, Sentencing and Courts Act 2022 s.37",
    "authorisation.reference=OP-TEST/1",
    "authorisation.authorised_by=DS 1 Test",
    "authorisation.purpose=camera photos only",
    "authorisation.user_agreement=true",
    "authorisation.dpn_reference=DPN-1",
    "authorisation.less_intrusive_means=none available",
]


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devicex", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _exported(out: Path) -> set[str]:
    conn = sqlite3.connect(out / "data" / "case.db")
    return {r[0] for r in conn.execute("SELECT path FROM files WHERE export_path IS NOT NULL")}


def test_options_take_what_the_file_takes(tmp_path: Path) -> None:
    options = [*AUTH, 'select.paths=["DCIM/**"]', 'select.categories=["images"]',
               'exclude.paths=["Android/**"]']
    args: list[str] = []
    for o in options:
        args += ["--scope-set", o]
    proc = _cli("extract", PHONE, "-o", tmp_path / "opts", "-q", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = {"/" + ln.split("\t")[0] for ln in (TRUTH / "phone.img" / "manifest.tsv").read_text().splitlines()
                if ln.startswith("DCIM/Camera/")}
    assert _exported(tmp_path / "opts") == expected
    copies = list((tmp_path / "opts" / "data" / "scope").iterdir())
    assert len(copies) == 1 and "[[select]]" in copies[0].read_text()
    # The recorded TOML, used as a scope file, takes exactly the same files.
    proc = _cli("extract", PHONE, "-o", tmp_path / "file", "-q", "--scope", copies[0], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _exported(tmp_path / "file") == expected


def test_bad_options_fail_before_the_image_is_read(tmp_path: Path) -> None:
    missing = tmp_path / "absent.img"  # never opened: validation comes first
    proc = _cli("extract", missing, "-o", tmp_path / "o", "--scope-set", "select.paths=[\"DCIM/**\"]",
                cwd=tmp_path)
    assert proc.returncode == 2 and "invalid scope" in proc.stderr and "authorisation" in proc.stderr
    proc = _cli("extract", missing, "-o", tmp_path / "o", "--scope-set", "nonsense", cwd=tmp_path)
    assert proc.returncode == 2 and "KEY=VALUE" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()
