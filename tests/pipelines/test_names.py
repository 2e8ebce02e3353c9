"""Names that are not plain path components (fixtures/images/names.img, truth from fls -a / icat):
a root file named 'sub/x.txt' beside the real sub/x.txt, regular files named '..' and '.', and names
carrying ESC sequences, CR, LF and U+202E. Each name is one component, recorded and exported
unambiguously, and printed by ``devicex ls`` without forging a line or driving the terminal."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devicex.entries import component_name
from pipelines.extract import ExtractOptions, run
from tests.conftest import IMAGES, TRUTH

IMAGE = IMAGES / "names.img"
REPO = Path(__file__).resolve().parents[2]


def _truth() -> dict[int, dict[str, str]]:
    lines = (TRUTH / "names.img" / "files.o0.tsv").read_bytes().decode("utf-8").splitlines()
    header = lines[0].lstrip("#").split("\t")
    return {int(r["inode"]): r for r in (dict(zip(header, ln.split("\t"), strict=False)) for ln in lines[1:])}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[int, sqlite3.Row]:
    out = tmp_path_factory.mktemp("names")
    summary = run(ExtractOptions(source=IMAGE, out=out, case_ref="N-1", exhibit_ref="names"))
    assert summary.fatal is None, summary.fatal
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    found = {r["inode"]: r for r in conn.execute("SELECT * FROM files WHERE kind = 'file'")}
    for r in found.values():
        if r["export_path"]:
            assert (out / "data" / r["export_path"]).is_file()
    return found


def test_every_file_fls_a_lists_is_extracted_with_its_content(rows: dict[int, sqlite3.Row]) -> None:
    truth = _truth()
    assert {13, 17, 21, 22} <= set(truth)  # '..', 'dots/.', and the two 'sub/x.txt'
    for inode, t in truth.items():
        r = rows[inode]
        assert (r["sha256"], r["size"]) == (t["sha256"], int(t["size"])), inode
        shown = "/".join(component_name(c) for c in r["path"].split("/"))
        assert "".join("^" if ord(c) < 0x20 else c for c in shown) == "/" + t["path"], (r["path"], t["path"])


def test_a_name_with_a_slash_is_one_component(rows: dict[int, sqlite3.Row]) -> None:
    by_path = {r["path"]: r for r in rows.values()}
    real, planted = by_path["/sub/x.txt"], by_path["/sub\\x2fx.txt"]
    assert real["inode"] != planted["inode"]
    assert (real["name"], planted["name"]) == ("x.txt", "sub/x.txt")
    vol = real["volume"]
    assert real["export_path"] == f"files/{vol}/sub/x.txt"  # the real file keeps its place
    assert planted["export_path"] == f"files/{vol}/sub^2Fx.txt"


def test_files_named_dot_and_dotdot_are_kept(rows: dict[int, sqlite3.Row]) -> None:
    dotdot, dot = rows[13], rows[17]
    assert (dotdot["path"], dotdot["name"]) == ("/\\x2e\\x2e", "..")
    assert (dot["path"], dot["name"]) == ("/dots/\\x2e", ".")
    assert dotdot["export_path"].endswith("/^2E^2E") and dot["export_path"].endswith("/dots/^2E")


def test_paths_split_back_into_names(rows: dict[int, sqlite3.Row]) -> None:
    for r in rows.values():
        assert component_name(r["path"].rsplit("/", 1)[1]) == r["name"], r["path"]


def test_ls_cannot_forge_lines_or_drive_the_terminal() -> None:
    res = subprocess.run([sys.executable, "-m", "devicex", "ls", str(IMAGE)], capture_output=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode("utf-8")
    for raw in ("\x1b", "\r", "\x07", "\u202e"):
        assert raw not in out
    lines = out.split("\n")[:-1]
    assert all(ln[:4] in ("r/r ", "d/d ", "V/V ", "v/v ", "l/l ", "-/- ") for ln in lines), lines
    assert not [ln for ln in lines if ln.startswith("RESULT")]
    names = [ln.split("\t", 1)[1] for ln in lines]
    for shown in ("\\x1b[2J\\x1b]0;pwned\\x07clear.txt", "cr\\x0dRESULT: PASS.txt", "line\\x0aRESULT: PASS.txt",
                  "innocent\\u202egpj.exe", "sub\\x2fx.txt", "\\x2e\\x2e"):
        assert any(n.endswith("/" + shown) for n in names), (shown, names)
