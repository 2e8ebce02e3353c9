"""Report rendering without a browser: determinism, escaping, no network
references, read-only use of the case, the CLI, custody, bundles, and every
fixture image rendering in every format."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import reports
from cli import main
from reports.model import CaseError, open_case
from tests.conftest import IMAGES
from tests.reports.conftest import CASE_REF, EXAMINER, GENERATED, HOSTILE_JPG


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_output_is_deterministic(extracted: Path, tmp_path: Path) -> None:
    a, b = _copy(extracted, tmp_path / "a"), _copy(extracted, tmp_path / "b")
    for case in (a, b):
        reports.render(case, None, generated=GENERATED).case.close()
    for sub in ("data/report", "data/export"):
        ta, tb = _tree(a / sub), _tree(b / sub)
        assert ta and ta == tb, sub


def test_case_is_only_read(extracted: Path, tmp_path: Path) -> None:
    case = _copy(extracted, tmp_path / "c")
    before = {k: v for k, v in _tree(case).items() if not k.startswith(("data/report/", "data/export/"))}
    reports.render(case, None, generated=GENERATED).case.close()
    after = {k: v for k, v in _tree(case).items() if not k.startswith(("data/report/", "data/export/"))}
    assert before == after, "rendering changed the case database, exports or custody log"


def test_reports_never_import_the_image_stack() -> None:
    code = ("import sys, reports, reports.html, reports.case_uco, reports.dfxml, reports.bodyfile, "
            "reports.csv_tables, reports.jsonl, reports.timesketch, reports.geo\n"
            "bad = [m for m in ('pytsk3', 'pyewf', 'pipelines') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_html_escapes_and_stays_offline(reported: Path) -> None:
    report = reported / "data" / "report"
    index = (report / "index.html").read_text(encoding="utf-8")
    assert "OP-&lt;b&gt;42&lt;/b&gt;" in index and CASE_REF not in index
    assert "Ex &lt;aminer&gt; &amp; Co" in index and EXAMINER not in index
    for page in report.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in text
        assert HOSTILE_JPG not in text
        for m in re.finditer(r"https?://[^\s\"'<>]*", text):
            assert m.group() == "http://www.w3.org/2000/svg", f"{page.name}: external reference {m.group()}"
        assert "<script>" not in text, f"{page.name}: inline script"
        assert not re.search(r"<[a-z]+[^>]*\son[a-z]+=", text), f"{page.name}: inline event handler"
        assert not re.search(r"<[^>]+\sstyle=", text), f"{page.name}: inline style (blocked by the CSP)"
    for script in ("report.js", "comms.js"):
        js = (report / "assets" / script).read_text(encoding="utf-8")
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                       "fetch(", "XMLHttpRequest", "http:", "https:"):
            assert banned not in js, (script, banned)
    for sheet in ("report.css", "comms.css"):
        css = (report / "assets" / sheet).read_text(encoding="utf-8")
        assert "@import" not in css and "url(" not in css and "@font-face" not in css
    for chunk in (report / "data").glob("*.js"):
        text = chunk.read_text(encoding="ascii")
        assert re.fullmatch(r'(DVX\.add\("[a-z]+",\d+,JSON\.parse\(".*"\)\);|'
                            r'window\.DVX_(CASE|COMMS) = JSON\.parse\(".*"\);)\n',
                            text, re.DOTALL), chunk.name


def test_cli_report_appends_custody_and_reports_errors(extracted: Path, tmp_path: Path) -> None:
    case = _copy(extracted, tmp_path / "cli")
    before = len((case / "custody.jsonl").read_bytes().splitlines())
    res = CliRunner().invoke(main, ["report", str(case), "-f", "csv,html", "--examiner", "R. Porter"])
    assert res.exit_code == 0, res.output
    assert (case / "data" / "report" / "index.html").is_file() and (case / "data" / "export" / "files.csv").is_file()
    assert not (case / "data" / "export" / "dfxml.xml").exists()
    lines = (case / "custody.jsonl").read_bytes().splitlines()
    assert len(lines) == before + 1
    entry = json.loads(lines[-1])
    assert entry["action"] == "report" and entry["actor"]["name"] == "R. Porter"
    refs = {o["ref"] for o in entry["outputs"]}
    assert {"data/export/files.csv", "data/report/index.html"} <= refs
    assert entry["details"]["report_files"] > 10 and len(entry["details"]["report_tree_sha256"]) == 64
    with open_case(case) as c:
        assert c.custody().chain_ok
    bad = CliRunner().invoke(main, ["report", str(case), "-f", "html,pdfx"])
    assert bad.exit_code == 2 and "unknown report format" in bad.output
    missing = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not a devicex case" in missing.output


def test_sealed_bundle_gets_a_reseal_note(extracted: Path, tmp_path: Path) -> None:
    case = _copy(extracted, tmp_path / "bundle")
    (case / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    res = CliRunner().invoke(main, ["report", str(case / "data"), "-f", "html", "--no-custody"])
    assert res.exit_code == 0, res.output
    assert "seal" in res.output
    assert "must be re-sealed" in (case / "data" / "report" / "index.html").read_text(encoding="utf-8")


def test_unfinished_case_is_refused(extracted: Path, tmp_path: Path) -> None:
    case = _copy(extracted, tmp_path / "running")
    with sqlite3.connect(case / "data" / "case.db") as db:
        db.execute("UPDATE runs SET finished = NULL, status = 'running'")
    with pytest.raises(CaseError, match="not finished"):
        open_case(case)


FIXTURE_IMAGES = sorted(p.name for p in IMAGES.glob("*") if p.suffix in (".img", ".E01") or p.name.endswith(".raw.001"))


@pytest.mark.parametrize("name", FIXTURE_IMAGES)
def test_fixture_images_render_every_format(name: str, tmp_path: Path) -> None:
    from tests.reports.conftest import extract

    out = extract(IMAGES / name, tmp_path / "out")
    outcome = reports.render(out, None, generated=GENERATED)
    outcome.case.close()
    assert set(outcome.written) == set(reports.renderers())
    for paths in outcome.written.values():
        assert all(p.is_file() and (p.stat().st_size > 0 or p.name == "records.jsonl") for p in paths), paths
    assert shutil.which("mactime"), "mactime (sleuthkit) is required"
    subprocess.run(["mactime", "-b", str(out / "data/export/bodyfile.txt"), "-d"], check=True,
                   capture_output=True, env={"TZ": "UTC", "PATH": "/usr/bin:/bin"})


def test_report_into_sealed_bundle_reseals_and_verifies(extracted: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """seal → report → re-seal → verify, twice: the report's custody entry lists every report file it
    changes, but custody entries cannot approve changes: the re-seal needs --accept-changes REASON."""
    case = _copy(extracted, tmp_path / "sealed")
    key = tmp_path / "key.pem"
    monkeypatch.setenv("DVX_TEST_PASS", "correct horse")
    run = CliRunner().invoke
    assert run(main, ["keys", "init", "--key", str(key), "--passphrase-env", "DVX_TEST_PASS"]).exit_code == 0
    seal = ["seal", str(case), "--key", str(key), "--passphrase-env", "DVX_TEST_PASS"]
    assert run(main, seal).exit_code == 0
    for _ in range(2):
        res = run(main, ["report", str(case), "-q"])
        assert res.exit_code == 0, res.output
        res = run(main, seal)
        assert res.exit_code == 4 and "--accept-changes" in res.output, res.output
        res = run(main, [*seal, "--accept-changes", "report written after sealing"])
        assert res.exit_code == 0, res.output
        res = run(main, ["verify", str(case)])
        assert res.exit_code == 0, res.output
