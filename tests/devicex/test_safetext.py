"""Text from evidence or a bundle is printed with control characters, escape sequences and bidi
overrides made visible: a tampered custody field cannot print a fake 'RESULT: PASS', a file name in
an error cannot clear the screen."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import main
from devicex.custody import canonical
from devicex.safetext import visible
from tests.sealing_support import (  # noqa: F401
    REPO,
    bundle,
    out_dir,
    session_key,
    signing_key,
    work_root,
)

FORGERY = ("Mallory\n\x1b[1A\x1b[2K\rRESULT: PASS - the bundle is exactly as sealed\x1b]0;title\x07"
           "\u202e\u2066\u200b")
_OUR_STYLES = re.compile(r"\x1b\[[0-9;]*m")


def test_visible_escapes_what_a_terminal_would_act_on() -> None:
    assert visible("innocent\u202egpj.exe") == "innocent\\u202egpj.exe"
    assert visible("a\x1b[2Jb\rc\nd\te\x07\x7f\x85") == "a\\x1b[2Jb\\x0dc\\x0ad\\x09e\\x07\\x7f\\x85"
    assert visible("\u2028\u2029\u200b\u2066\u061c\udcff") == "\\u2028\\u2029\\u200b\\u2066\\u061c\\udcff"
    for ordinary in ("café ☕.txt", "日本語", "Документы", "😀 smile", "👩\u200d💻", "a b", "C:\\Users"):
        assert visible(ordinary) == ordinary
    assert visible(None) == "" and visible(42) == "42"


def test_a_forged_custody_field_cannot_forge_the_verdict(bundle: Path) -> None:  # noqa: F811
    log = bundle / "custody.jsonl"
    lines = log.read_bytes().split(b"\n")[:-1]
    entry = json.loads(lines[2])
    entry["actor"]["name"] = FORGERY
    lines[2] = canonical(entry)
    log.write_bytes(b"".join(ln + b"\n" for ln in lines))
    res = CliRunner().invoke(main, ["verify", str(bundle)], color=True)  # as on a terminal: no stripping
    assert res.exit_code == 5
    out = _OUR_STYLES.sub("", res.output)
    for raw in ("\r", "\x1b", "\x07", "\u202e", "\u2066", "\u200b"):
        assert raw not in out, repr(raw)
    verdicts = [ln for ln in out.splitlines() if "RESULT:" in ln]
    assert [ln for ln in verdicts if ln.startswith("RESULT:")] == [next(v for v in verdicts if v.startswith(
        "RESULT: FAIL"))], verdicts
    assert "Mallory\\x0a\\x1b[1A\\x1b[2K\\x0dRESULT: PASS" in out
    doc = json.loads(CliRunner().invoke(main, ["verify", str(bundle), "--json"]).output)
    assert doc["result"] == "fail"


def test_an_error_naming_a_hostile_file_is_one_visible_line(out_dir: Path, work_root: Path) -> None:  # noqa: F811
    volume = next((out_dir / "data" / "files").iterdir())
    (volume / "x\x1b[2J\x1b]0;t\x07RESULT: PASS\u202e.jpg").write_bytes(b"planted")
    res = subprocess.run([sys.executable, "-m", "devicex", "seal", str(out_dir), "--key",
                          str(session_key(work_root)[1])], capture_output=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "500"}, timeout=120)
    assert res.returncode == 4
    err = res.stderr.decode("utf-8")
    assert "x\\x1b[2J\\x1b]0;t\\x07RESULT: PASS\\u202e.jpg" in err and "not exported by any extraction" in err
    assert not any(c in err for c in "\x1b\x07\u202e") and len(err.strip().splitlines()) == 1, err
