"""The CPS drafts (MG11 continuity statement, reader's guide) of a real sealed and handed-over case: read back
with python-docx, with LibreOffice (Word -> text) and pdftotext, and every hash, reference, count and time
compared with case.db (sqlite3 module) and the custody log (json), read independently of devicex."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import docx
import pytest

from devicex.bundle import seal
from devicex.handover import handover
from devicex.verify import verify_bundle
from reports.cps.opinion import flags
from tests.sealing_support import EXAMINER, copy_of, primary_image, sealed, session_key

REPO = Path(__file__).resolve().parents[2]
HANDOVER_REASON = "the officer suggests a second look"
MG11, GUIDE = "MG11-continuity-statement", "readers-guide"
DOCS = (MG11, GUIDE, "MG6C-unused-material", "MG6D-sensitive-material")
WRITTEN = sorted([f"{d}.{x}" for d in (*DOCS, "MG6E-disclosure-officers-report", "search-and-review-record",
                                        "SFR1-draft") for x in ("docx", "pdf")]
                 + ["mg6c-numbering.json", "mg6d-numbering.json"])


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A sealed bundle, handed over, drafted once through the CLI; its drafts converted to text once."""
    work = tmp_path_factory.mktemp("cps-work")
    bundle = copy_of(sealed(work, primary_image()), tmp_path_factory.mktemp("cps"))
    key = session_key(work)[0]
    handover(bundle, key, EXAMINER, to="DC Receiver", reason=HANDOVER_REASON)
    log_before = (bundle / "custody.jsonl").read_text().splitlines()
    done = subprocess.run([sys.executable, "-m", "devicex", "cps", "draft", str(bundle), "--examiner", "Test Examiner",
                           "--examiner-id", "T-1001"], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stderr
    cps = bundle / "data" / "cps"
    texts = tmp_path_factory.mktemp("cps-text")
    names = sorted(p.stem for p in cps.glob("*.docx"))
    subprocess.run(["soffice", f"-env:UserInstallation=file://{texts}/profile", "--headless", "--convert-to",
                    "txt:Text", "--outdir", str(texts), *(str(cps / f"{n}.docx") for n in names)],
                   check=True, capture_output=True, timeout=300)
    pdf_text = {n: subprocess.run(["pdftotext", str(cps / f"{n}.pdf"), "-"], check=True,
                                  capture_output=True, text=True).stdout for n in names}
    return {"bundle": bundle, "key": key, "log_before": [json.loads(x) for x in log_before],
            "lo_text": {n: (texts / f"{n}.txt").read_text(encoding="utf-8-sig") for n in names},
            "pdf_text": pdf_text, "stdout": done.stdout}


def _db(bundle: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{bundle / 'data' / 'case.db'}?mode=ro", uri=True)


def _docx_text(path: Path) -> str:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        parts += ["\t".join(c.text for c in row.cells) for row in t.rows]
    return "\n".join(parts)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_files_written_and_recorded(drafted: dict) -> None:
    bundle: Path = drafted["bundle"]
    names = sorted(p.name for p in (bundle / "data" / "cps").iterdir())
    assert names == WRITTEN
    entry = json.loads((bundle / "custody.jsonl").read_text().splitlines()[-1])
    assert entry["action"] == "cps-draft" and entry["actor"] == {"id": "T-1001", "name": "Test Examiner",
                                                                  "role": "examiner"}
    import hashlib
    assert {o["ref"]: o["sha256"] for o in entry["outputs"]} == {
        f"data/cps/{n}": hashlib.sha256((bundle / "data" / "cps" / n).read_bytes()).hexdigest() for n in names}


def test_mg11_facts_equal_case_db_and_custody_log(drafted: dict) -> None:
    bundle: Path = drafted["bundle"]
    conn = _db(bundle)
    sources = conn.execute("SELECT name, size, md5, sha1, sha256, verify_md5, verify_sha1, verify_sha256, verified, "
                           "stored_md5, stored_sha1, stored_check FROM sources").fetchall()
    case_ref, exhibit_ref = conn.execute("SELECT case_ref, exhibit_ref FROM runs ORDER BY id LIMIT 1").fetchone()
    conn.close()
    log = drafted["log_before"]
    for reader, text in (("python-docx", _docx_text(bundle / "data" / "cps" / f"{MG11}.docx")),
                         ("libreoffice", drafted["lo_text"][MG11]), ("pdftotext", drafted["pdf_text"][MG11])):
        flat = _squeezed(text)
        for _name, size, *hashes, verified, smd5, ssha1, scheck in sources:
            for h in (*hashes[:3], smd5, ssha1):
                assert h and h in flat, (reader, h)
            assert hashes[5] and all(h in flat for h in hashes[3:] if h), reader  # what the re-verification computed
            assert f"({size}bytes)" in flat and f"'{verified}'" in flat and f"'{scheck}'" in flat, reader
        assert case_ref in flat and exhibit_ref in flat, reader
        for e in log:  # every custody action with its time (pdftotext may place a cell's last line elsewhere)
            stamp = e["time"].replace("T", "").rstrip("Z") + ("" if reader == "pdftotext" else "UTC")
            assert stamp in flat, (reader, e["seq"])
        seal = [e for e in log if e["action"] in ("seal", "handover")][-1]["details"]["seal"]
        assert seal["payload_manifest_sha256"] in flat and seal["key_fingerprint_sha256"] in flat, reader
        # every hash the statement gives is one case.db or the custody log holds
        known = {h for row in sources for h in row if isinstance(h, str)}
        known |= set(re.findall(r"[0-9a-f]{32,64}", json.dumps(log)))
        assert set(re.findall(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])", text)) <= known, reader


def test_mg11_custody_table_and_marks(drafted: dict) -> None:
    d = docx.Document(str(drafted["bundle"] / "data" / "cps" / f"{MG11}.docx"))
    actions = next(t for t in d.tables if t.rows[0].cells[0].text == "Seq")
    rows = [[c.text for c in r.cells] for r in actions.rows[1:]]
    log = drafted["log_before"]
    assert [r[0] for r in rows] == [str(e["seq"]) for e in log]
    assert [r[2] for r in rows] == [e["actor"]["name"] for e in log]
    handover_row = rows[[e["action"] for e in log].index("handover")]
    assert "to DC Receiver" in handover_row[3] and HANDOVER_REASON in handover_row[3]
    text = _docx_text(drafted["bundle"] / "data" / "cps" / f"{MG11}.docx")
    for must in ("[EXAMINER TO SUPPLY: signature]", "r. 16.2(b) declaration of truth", "r. 16.3 each exhibit",
                 "wilfully stated in it anything which I know to be false"):
        assert must in text
    flagged = [p.text for p in d.paragraphs if p.text.startswith("'suggests'")]
    assert flagged and HANDOVER_REASON in flagged[0]


def test_readers_guide(drafted: dict) -> None:
    bundle: Path = drafted["bundle"]
    conn = _db(bundle)
    exported = conn.execute("SELECT count(*) FROM files WHERE export_path IS NOT NULL").fetchone()[0]
    entries = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    conn.close()
    fingerprint = [e for e in drafted["log_before"] if e["action"] in ("seal", "handover")][-1]["details"]["seal"][
        "key_fingerprint_sha256"]
    for text in (drafted["lo_text"][GUIDE], drafted["pdf_text"][GUIDE]):
        flat = _squeezed(text).replace("-", "")  # pdftotext joins a word hyphenated at a line end
        assert f"the{exported}filesexported" in flat and f"{entries}entrieslisted" in flat
        assert f"devicexverifyBUNDLEkeyfingerprint{fingerprint}" in flat
        assert "sha256sumcmanifestsha256.txt" in flat
    assert "sha256sum -c manifest-sha256.txt" in drafted["lo_text"][GUIDE]
    pages = subprocess.run(["pdfinfo", str(bundle / "data" / "cps" / f"{GUIDE}.pdf")], capture_output=True,
                           text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.MULTILINE)  # one page


def test_pages_render(drafted: dict, tmp_path: Path) -> None:
    for name in (MG11, GUIDE):
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(drafted["bundle"] / "data" / "cps" / f"{name}.pdf"),
                        str(tmp_path / name)], check=True)
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 2 and all(p.stat().st_size > 2000 for p in pngs)


def test_reseal_lists_the_drafts_and_verifies(drafted: dict, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(drafted["bundle"], bundle)
    seal(bundle, drafted["key"], EXAMINER, accept_changes="CPS drafts added")
    manifest = (bundle / "manifest-sha256.txt").read_text()
    for name in WRITTEN:
        assert f"data/cps/{name}" in manifest
    assert verify_bundle(bundle).ok


@pytest.mark.parametrize("text, phrase", [("The image suggests that the user deleted it.", "suggests"),
                                          ("In my opinion the file was moved.", "In my opinion"),
                                          ("It was probably sent at night.", "probably")])
def test_opinion_flags(text: str, phrase: str) -> None:
    assert [f[0] for f in flags(text)] == [phrase]


def test_facts_only_wording_not_flagged() -> None:
    assert flags("The source was hashed again after the extraction: SHA-256 abc; compared with intake: match.") == []


def test_every_document_reads_the_same_in_word_libreoffice_and_pdf(drafted: dict) -> None:
    """Each draft's paragraphs and table cells, as python-docx reads them, are in LibreOffice's text of the
    same .docx; its paragraphs are in pdftotext's text of the PDF written beside it (every document, not only
    the MG11 and the guide whose facts are compared with case.db above)."""
    cps = drafted["bundle"] / "data" / "cps"
    assert sorted(drafted["lo_text"]) == sorted(n[: -len(".docx")] for n in WRITTEN if n.endswith(".docx"))
    for name, lo_text in drafted["lo_text"].items():
        d = docx.Document(str(cps / f"{name}.docx"))
        paragraphs = [_squeezed(p.text) for p in d.paragraphs if p.text.strip()]
        cells = [_squeezed(c.text) for t in d.tables for r in t.rows for c in r.cells if c.text.strip()]
        assert paragraphs and cells, name
        lo = _squeezed(lo_text)
        assert [p for p in paragraphs + cells if p not in lo] == [], name
        # pdftotext joins a word hyphenated at a line end ("manifest-" / "sha256.txt"), so hyphens are left out
        pdf = _squeezed(drafted["pdf_text"][name]).replace("-", "")
        assert [p for p in paragraphs if p.replace("-", "") not in pdf] == [], name


def _mg6_rows(path: Path) -> list[list[str]]:
    table = docx.Document(str(path)).tables[1]
    return [[c.text for c in r.cells] for r in table.rows[1:]]


def test_mg6c_blocks_equal_case_db_and_mg6d_nil(drafted: dict) -> None:
    bundle: Path = drafted["bundle"]
    conn = _db(bundle)
    cats = conn.execute("SELECT COALESCE(category, 'uncategorised'), count(*) FROM files WHERE kind NOT IN "
                        "('dir', 'virtual-dir') GROUP BY 1 ORDER BY 1").fetchall()
    kinds = conn.execute("SELECT parser || '/' || record_type, count(*) FROM records GROUP BY 1 ORDER BY 1").fetchall()
    conn.close()
    rows = _mg6_rows(bundle / "data" / "cps" / "MG6C-unused-material.docx")
    assert [(r[0], r[2]) for r in rows] == [(str(n), str(q)) for n, (_, q) in enumerate(cats + kinds, 1)]
    for row, (name, _) in zip(rows, cats + kinds, strict=True):
        assert f"'{name}'" in row[1]
    mg6d = _docx_text(bundle / "data" / "cps" / "MG6D-sensitive-material.docx")
    assert "NIL RETURN" in mg6d and "[DISCLOSURE OFFICER TO SUPPLY: endorsement, signature and date" in mg6d
    pdf = subprocess.run(["pdftotext", str(bundle / "data" / "cps" / "MG6D-sensitive-material.pdf"), "-"],
                         check=True, capture_output=True, text=True).stdout
    assert "NIL RETURN" in pdf
    mg6e = _docx_text(bundle / "data" / "cps" / "MG6E-disclosure-officers-report.docx")
    assert "No item of this examination is marked as possibly meeting the disclosure test." in mg6e
    assert "None: the MG6D is a nil return." in mg6e


def test_mg6c_numbering_stable_and_mg6d_lists_sensitive(drafted: dict, tmp_path: Path) -> None:
    from devicex.custody import Actor
    from devicex.tags import import_tags, make_tag
    from reports.cps.draft import draft
    from reports.model import open_case

    bundle = tmp_path / "b"
    shutil.copytree(drafted["bundle"], bundle)
    first = _mg6_rows(bundle / "data" / "cps" / "MG6C-unused-material.docx")
    conn = _db(bundle)
    (a, pa), (b, pb) = conn.execute("SELECT id, path FROM files WHERE kind = 'file' AND sha256 IS NOT NULL "
                                    "ORDER BY id LIMIT 2").fetchall()
    conn.close()
    import_tags(bundle, [make_tag(f"file:{a}", "possibly-disclosable", "sent to a third party", "DC Jones",
                                  "2024-05-01T12:00:00Z"),
                         make_tag(f"file:{b}", "sensitive", "names a protected witness", "DC Jones",
                                  "2024-05-01T12:05:00Z")], Actor("1", "DC Jones"), "test")
    for _ in range(2):  # a second and a third draft
        with open_case(bundle) as case:
            draft(case, None, pdf=False)
        rows = _mg6_rows(bundle / "data" / "cps" / "MG6C-unused-material.docx")
        assert rows[:len(first)] == first  # nothing renumbered
        assert len(rows) == len(first) + 1 and rows[-1][0] == str(len(first) + 1)
        assert pa in rows[-1][1] and "sent to a third party" in rows[-1][1] and f"case.db file {a}" in rows[-1][1]
    mg6d = _mg6_rows(bundle / "data" / "cps" / "MG6D-sensitive-material.docx")
    assert len(mg6d) == 1 and pb in mg6d[0][1] and "names a protected witness" in mg6d[0][2]
    assert "2024-05-01 12:05:00 UTC" in mg6d[0][2]
    numbering = json.loads((bundle / "data" / "cps" / "mg6c-numbering.json").read_text())
    assert [i["number"] for i in numbering["items"]] == list(range(1, len(first) + 2))


def test_mg6d_numbers_kept_when_marks_are_removed_or_added_earlier(drafted: dict, tmp_path: Path) -> None:
    """An MG6D number stays with its item: a mark removed leaves its number unused, a mark made earlier in time
    but imported later is numbered after the ones already given, and an item marked again gets its number back.
    Marks removed through the command line, as an officer would."""
    from devicex.custody import Actor
    from devicex.tags import import_tags, make_tag
    from reports.cps.draft import draft
    from reports.model import open_case

    bundle = tmp_path / "b"
    shutil.copytree(drafted["bundle"], bundle)
    conn = _db(bundle)
    (a, pa), (b, pb), (c, pc) = conn.execute("SELECT id, path FROM files WHERE kind = 'file' AND sha256 IS NOT NULL "
                                             "ORDER BY id LIMIT 3").fetchall()
    conn.close()
    mg6d_path = bundle / "data" / "cps" / "MG6D-sensitive-material.docx"

    def redraft(*tags: tuple[int, str, str]) -> list[tuple[str, str]]:
        if tags:
            import_tags(bundle, [make_tag(f"file:{i}", "sensitive", why, "DC Jones", at) for i, why, at in tags],
                        Actor("1", "DC Jones"), "test")
        with open_case(bundle) as case:
            draft(case, None, pdf=False)
        return [(r[0], r[1]) for r in _mg6_rows(mg6d_path)]

    first = redraft((a, "names witness A", "2024-05-01T10:00:00Z"), (b, "names witness B", "2024-05-01T11:00:00Z"))
    assert [n for n, _ in first] == ["1", "2"] and pa in first[0][1] and pb in first[1][1]
    done = subprocess.run([sys.executable, "-m", "devicex", "tag", "remove", str(bundle), f"file:{a}", "--reason",
                           "not sensitive after review", "--examiner", "DS Brown"], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert done.returncode == 0, done.stderr
    second = redraft((c, "names witness C", "2024-05-01T09:00:00Z"))  # marked before A and B, imported after
    assert [n for n, _ in second] == ["2", "3"] and pb in second[0][1] and pc in second[1][1]
    mg6e = _docx_text(bundle / "data" / "cps" / "MG6E-disclosure-officers-report.docx")
    assert "MG6D item(s) 2, 3 are marked sensitive" in mg6e
    record = _docx_text(bundle / "data" / "cps" / "search-and-review-record.docx")
    assert f"removed 1 (sensitive: 1) from file:{a}; reason: not sensitive after review" in record
    assert "Marks taken back: 1" in record and "not sensitive after review" in record
    third = redraft((a, "names witness A again", "2024-05-02T10:00:00Z"))
    assert [n for n, _ in third] == ["1", "2", "3"] and pa in third[0][1] and "again" in _mg6_rows(mg6d_path)[0][2]
    numbering = json.loads((bundle / "data" / "cps" / "mg6d-numbering.json").read_text())
    assert numbering["format"] == "devicex-mg6d-numbering"
    assert [(i["number"], i["key"]) for i in numbering["items"]] == [
        (1, f"item:file:{a}"), (2, f"item:file:{b}"), (3, f"item:file:{c}")]


def test_search_and_review_record_of_a_scoped_case(tmp_path: Path) -> None:
    from devicex.custody import Actor
    from devicex.scope import parse_text
    from devicex.tags import import_tags, make_tag
    from pipelines.extract import ExtractOptions, run
    from pipelines.select import ScopeSelector
    from reports.cps.draft import draft
    from reports.model import open_case

    example = (REPO / "examples" / "scopes" / "complainant-photos.toml").read_text().splitlines()
    text = "\n".join(x for x in example if not x.startswith(("windows", "times", "exif_offset")))  # all DCIM images
    scope = parse_text(text, name="complainant-photos.toml")
    out = tmp_path / "out"
    assert run(ExtractOptions(source=REPO / "fixtures" / "images" / "phone.img", out=out,
                              selector=ScopeSelector(scope), scope_text=scope.text, workers=1, case_ref="CASE-S",
                              exhibit_ref="PH/1", examiner="Test Examiner")).fatal is None
    conn = _db(out)
    fid = conn.execute("SELECT id FROM files WHERE kind = 'file' ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    import_tags(out, [make_tag(f"file:{fid}", "relevant", "", "DC Jones", "2024-05-01T12:00:00Z")],
                Actor("1", "DC Jones"), "test")
    with open_case(out) as case:
        draft(case, None, pdf=False)
    conn = _db(out)
    left = conn.execute("SELECT reason, count, bytes FROM exclusions ORDER BY reason").fetchall()
    taken = conn.execute("SELECT count(*) FROM files WHERE kind NOT IN ('dir', 'virtual-dir')").fetchone()[0]
    scope_sha, started = conn.execute("SELECT scope_sha256, started FROM runs").fetchone()
    conn.close()
    log = [json.loads(x) for x in (out / "custody.jsonl").read_text().splitlines()]
    setter = next(e for e in log if e["action"] == "scope")
    d = docx.Document(str(out / "data" / "cps" / "search-and-review-record.docx"))
    text_all = _docx_text(out / "data" / "cps" / "search-and-review-record.docx")
    assert scope_sha in text_all and scope.authorisation.reference in text_all
    assert f"Scope recorded by Test Examiner at {setter['time'].replace('T', ' ').rstrip('Z')} UTC" in text_all
    outcome = next(t for t in d.tables if t.rows[0].cells[0].text == "Outcome")
    rows = [[c.text for c in r.cells] for r in outcome.rows[1:]]
    assert rows[0][:2] == ["taken (listed in case.db)", str(taken)]
    assert rows[1:] == [[f"left in the image: {r}", str(n), str(b)] for r, n, b in left] and left
    review = next(t for t in d.tables if t.rows[0].cells[0].text == "Seq")
    entry = next(e for e in log if e["action"] == "tags-import")
    assert [c.text for c in review.rows[1].cells][:3] == [str(entry["seq"]), entry["time"].replace("T", " ")
                                                          .rstrip("Z") + " UTC", "DC Jones"]
    assert "relevant 1, possibly-disclosable 0, sensitive 0 (on 1 items)" in text_all
    assert started


def test_sfr1_findings_and_limitations(drafted: dict, tmp_path: Path) -> None:
    from devicex.custody import Actor
    from devicex.tags import import_tags, make_tag
    from reports.cps.draft import draft
    from reports.model import open_case

    bundle = tmp_path / "b"
    shutil.copytree(drafted["bundle"], bundle)
    before = _docx_text(bundle / "data" / "cps" / "SFR1-draft.docx")
    assert "No item is marked relevant" in before
    conn = _db(bundle)
    fid, path, sha = conn.execute("SELECT id, path, sha256 FROM files WHERE kind = 'file' AND sha256 IS NOT NULL "
                                  "ORDER BY id LIMIT 1").fetchone()
    deleted, recovered = conn.execute("SELECT sum(alloc != 'allocated'), sum(recovered = 1) FROM files").fetchone()
    intake = conn.execute("SELECT sha256 FROM sources").fetchone()[0]
    parsers = [r for (r,) in conn.execute("SELECT DISTINCT parser FROM parser_runs ORDER BY 1")]
    conn.close()
    gone = conn_rows(bundle, "SELECT id, recovered FROM files WHERE alloc = 'deleted' ORDER BY id LIMIT 1")[0]
    import_tags(bundle, [make_tag(f"file:{fid}", "relevant", "photo of the night", "DC Jones", "2024-05-01T12:00:00Z"),
                         make_tag(f"file:{gone[0]}", "relevant", "deleted note", "DC Jones", "2024-05-01T12:01:00Z")],
                Actor("1", "DC Jones"), "test")
    with open_case(bundle) as case:
        draft(case, None, pdf=False)
    d = docx.Document(str(bundle / "data" / "cps" / "SFR1-draft.docx"))
    findings = next(t for t in d.tables if t.rows[0].cells[0].text == "Item")
    rows = [[c.text for c in r.cells] for r in findings.rows[1:]]
    assert len(rows) == 2 and rows[0][0] == f"file:{fid}" and path in rows[0][1] and sha in rows[0][1]
    assert rows[0][2] == "allocated (a live file)"
    assert rows[1][0] == f"file:{gone[0]}" and gone[1] == 1
    assert rows[1][2].startswith("deleted; its content read from its own blocks")
    assert "photo of the night" in rows[0][3] and "2024-05-01 12:00:00 UTC" in rows[0][3]
    text = _docx_text(bundle / "data" / "cps" / "SFR1-draft.docx")
    assert intake in text and "All times are UTC" in text and "time zone is not known" in text
    assert f"{deleted} deleted entries listed; {recovered} recovered" in text
    assert f"Files: {recovered} deleted, their content read from their own blocks (recovered)." in text
    assert f"parsers run: {', '.join(parsers)}" in text


def conn_rows(bundle: Path, sql: str) -> list[tuple]:
    conn = _db(bundle)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
