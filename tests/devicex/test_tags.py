"""Investigators' marks: `devicex tag add` / `devicex tag import` on a real extraction, read back with the
sqlite3 module and the custody log as JSON; nothing else in the case changes."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from devicex.custody import read_chain
from pipelines.extract import ExtractOptions, run
from tests.conftest import IMAGES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tags") / "out"
    summary = run(ExtractOptions(source=IMAGES / "ext4.img", out=out, case_ref="T-19", exhibit_ref="ABC/1",
                                 workers=1, full_reason="tag tests"))
    assert summary.fatal is None
    return out


@pytest.fixture()
def case(finished: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "case"
    shutil.copytree(finished, copy)
    return copy


def devicex(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "devicex", *args], capture_output=True, text=True, env=env, cwd=REPO)


def _db(case: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)


def _other_tables(case: Path) -> list[str]:
    conn = _db(case)
    try:
        return [line for line in conn.iterdump()
                if not line.startswith(('INSERT INTO "tags"', "CREATE TABLE tags", "CREATE INDEX tags_item"))]
    finally:
        conn.close()


def _custody(case: Path) -> list[dict]:
    return [json.loads(line) for line in (case / "custody.jsonl").read_text().splitlines()]


def _exports(case: Path) -> dict[str, bytes]:
    return {p.relative_to(case).as_posix(): p.read_bytes() for p in sorted((case / "data" / "files").rglob("*"))
            if p.is_file()}


def _some_files(case: Path, n: int) -> list[tuple[int, str]]:
    conn = _db(case)
    try:
        return conn.execute("SELECT id, path FROM files WHERE kind = 'file' ORDER BY id LIMIT ?", (n,)).fetchall()
    finally:
        conn.close()


def test_add_from_command_line(case: Path) -> None:
    before, exports, log_before = _other_tables(case), _exports(case), _custody(case)
    (f1, _), (f2, _) = _some_files(case, 2)
    done = devicex("tag", "add", str(case), f"file:{f1}", f"file:{f2}", "--mark", "possibly-disclosable",
                   "--note", "messages with a third party", "--at", "2024-05-01T13:00:00+01:00",
                   "--examiner", "DC Jones", "--examiner-id", "1234")
    assert done.returncode == 0, done.stderr
    conn = _db(case)
    rows = conn.execute("SELECT item_kind, item_id, mark, note, tagged_by, tagged_at, imported_by FROM tags "
                        "ORDER BY id").fetchall()
    conn.close()
    assert rows == [("file", f1, "possibly-disclosable", "messages with a third party", "DC Jones",
                     "2024-05-01T12:00:00Z", "DC Jones"),
                    ("file", f2, "possibly-disclosable", "messages with a third party", "DC Jones",
                     "2024-05-01T12:00:00Z", "DC Jones")]
    assert _other_tables(case) == before and _exports(case) == exports
    log = _custody(case)
    assert log[:-1] == log_before and read_chain(case / "custody.jsonl").ok
    entry = log[-1]
    assert entry["action"] == "tags-import" and entry["actor"] == {"id": "1234", "name": "DC Jones",
                                                                    "role": "examiner"}
    assert entry["details"]["tags"] == 2 and entry["details"]["marks"] == {"possibly-disclosable": 2}
    assert entry["exhibit_ref"] == "ABC/1" and entry["case_ref"] == "T-19"
    db = (case / "data" / "case.db").read_bytes()
    assert entry["outputs"] == [{"role": "case-database", "ref": "data/case.db",
                                 "sha256": hashlib.sha256(db).hexdigest(), "size": len(db)}]


def test_import_file_once(case: Path, tmp_path: Path) -> None:
    (f1, p1), (f2, _) = _some_files(case, 2)
    doc = {"format": "devicex-tags", "version": 1, "case_ref": "T-19", "tags": [
        {"item": f"file:{f1}", "path": p1, "mark": "relevant", "note": "", "by": "DC Smith",
         "at": "2024-05-02T09:00:00Z"},
        {"item": f"file:{f2}", "mark": "sensitive", "note": "names a protected witness", "by": "DC Smith",
         "at": "2024-05-02T09:01:00Z"}]}
    tags_file = tmp_path / "marks.json"
    tags_file.write_text(json.dumps(doc))
    done = devicex("tag", "import", str(case), str(tags_file), "--examiner", "DS Brown")
    assert done.returncode == 0, done.stderr
    assert "2 tag(s) added, 0 already held" in done.stdout
    entry = _custody(case)[-1]
    assert entry["action"] == "tags-import" and entry["actor"]["name"] == "DS Brown"
    assert entry["details"]["marks"] == {"relevant": 1, "sensitive": 1}
    assert entry["inputs"][0]["sha256"] == hashlib.sha256(tags_file.read_bytes()).hexdigest()
    count = len(_custody(case))
    again = devicex("tag", "import", str(case), str(tags_file), "--examiner", "DS Brown")
    assert again.returncode == 0 and "0 tag(s) added, 2 already held" in again.stdout
    assert len(_custody(case)) == count  # nothing added, nothing recorded
    conn = _db(case)
    assert conn.execute("SELECT count(*) FROM tags").fetchone() == (2,)
    conn.close()


@pytest.mark.parametrize("change, message", [
    (lambda d, f: d["tags"][0].update(item="file:999999"), "file:999999 is not in this case"),
    (lambda d, f: d["tags"][0].update(path="/elsewhere"), "the tags file says '/elsewhere'"),
    (lambda d, f: d.update(case_ref="OTHER"), "made for case 'OTHER'"),
    (lambda d, f: d["tags"][1].update(note=""), "a sensitive mark needs the reason"),
    (lambda d, f: d["tags"][0].update(at="2024-05-02 09:00"), "has no time zone"),
    (lambda d, f: d["tags"][0].update(mark="important"), "is not one of"),
])
def test_bad_tags_file_changes_nothing(case: Path, tmp_path: Path, change, message: str) -> None:
    (f1, p1), (f2, _) = _some_files(case, 2)
    doc = {"format": "devicex-tags", "version": 1, "tags": [
        {"item": f"file:{f1}", "path": p1, "mark": "relevant", "by": "DC Smith", "at": "2024-05-02T09:00:00Z"},
        {"item": f"file:{f2}", "mark": "sensitive", "note": "x", "by": "DC Smith", "at": "2024-05-02T09:01:00Z"}]}
    change(doc, f1)
    tags_file = tmp_path / "marks.json"
    tags_file.write_text(json.dumps(doc))
    db, log = (case / "data" / "case.db").read_bytes(), _custody(case)
    done = devicex("tag", "import", str(case), str(tags_file))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (case / "data" / "case.db").read_bytes() == db and _custody(case) == log


def test_not_json(case: Path, tmp_path: Path) -> None:
    bad = tmp_path / "marks.json"
    bad.write_text("{nope")
    done = devicex("tag", "import", str(case), str(bad))
    assert done.returncode == 2 and str(bad) in done.stderr and "not a readable JSON tags file" in done.stderr


def test_tagging_a_sealed_bundle_then_reseal_verifies(tmp_path: Path) -> None:
    from devicex.bundle import seal
    from devicex.custody import Actor
    from devicex.tags import import_tags, make_tag
    from devicex.verify import verify_bundle
    from tests.sealing_support import (
        EXAMINER,
        copy_of,
        primary_image,
        sealed,
        session_key,
    )

    bundle = copy_of(sealed(tmp_path / "work", primary_image()), tmp_path)
    (f1, _), = _some_files(bundle, 1)
    result = import_tags(bundle, [make_tag(f"file:{f1}", "relevant", "", "DC Jones", "2024-05-01T12:00:00Z")],
                         Actor("1234", "DC Jones"), "command line")
    assert result.added == 1
    assert not verify_bundle(bundle).ok  # case.db changed after the seal: caught until re-sealed
    seal(bundle, session_key(tmp_path / "work")[0], EXAMINER, accept_changes="investigator's marks imported")
    assert verify_bundle(bundle).ok


def _tag_rows(case: Path) -> list[tuple]:
    conn = _db(case)
    try:
        return conn.execute("SELECT item_kind || ':' || item_id, mark, tagged_by, removed_by, removed_reason, "
                            "removed_at IS NOT NULL FROM tags ORDER BY id").fetchall()
    finally:
        conn.close()


def test_remove_a_mark_with_its_reason(case: Path) -> None:
    (f1, _), (f2, _) = _some_files(case, 2)
    for item, mark, note in ((f"file:{f1}", "relevant", ""), (f"file:{f1}", "sensitive", "names a witness"),
                             (f"file:{f2}", "relevant", "")):
        assert devicex("tag", "add", str(case), item, "--mark", mark, "--note", note, "--examiner", "DC Jones"
                       ).returncode == 0
    before, exports, log_before = _other_tables(case), _exports(case), _custody(case)
    done = devicex("tag", "remove", str(case), f"file:{f1}", "--mark", "sensitive", "--reason",
                   "marked on the wrong file", "--examiner", "DS Brown", "--examiner-id", "5678")
    assert done.returncode == 0, done.stderr
    assert "1 mark(s) removed" in done.stdout
    assert _tag_rows(case) == [(f"file:{f1}", "relevant", "DC Jones", None, None, 0),
                               (f"file:{f1}", "sensitive", "DC Jones", "DS Brown", "marked on the wrong file", 1),
                               (f"file:{f2}", "relevant", "DC Jones", None, None, 0)]
    assert _other_tables(case) == before and _exports(case) == exports  # evidence and other rows unchanged
    log = _custody(case)
    assert log[:-1] == log_before and read_chain(case / "custody.jsonl").ok
    entry = log[-1]
    assert entry["action"] == "tags-remove" and entry["actor"] == {"id": "5678", "name": "DS Brown",
                                                                    "role": "examiner"}
    assert entry["details"]["reason"] == "marked on the wrong file" and entry["details"]["tags"] == 1
    assert entry["details"]["items"] == [f"file:{f1}"] and entry["details"]["marks"] == {"sensitive": 1}
    db = (case / "data" / "case.db").read_bytes()
    assert entry["outputs"][0]["sha256"] == hashlib.sha256(db).hexdigest()

    from devicex.tags import read_tags
    conn = sqlite3.connect(f"file:{case / 'data' / 'case.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    held = [(t["item_id"], t["mark"]) for t in read_tags(conn)]
    taken_back = [(t["item_id"], t["mark"], t["removed_reason"]) for t in read_tags(conn, removed=True)]
    conn.close()
    assert held == [(f1, "relevant"), (f2, "relevant")]
    assert taken_back == [(f1, "sensitive", "marked on the wrong file")]

    every = devicex("tag", "remove", str(case), f"file:{f1}", f"file:{f2}", "--reason", "review withdrawn",
                    "--examiner", "DS Brown")
    assert every.returncode == 0 and "2 mark(s) removed" in every.stdout
    assert [r[3:] for r in _tag_rows(case)] == [("DS Brown", "review withdrawn", 1),
                                                ("DS Brown", "marked on the wrong file", 1),  # removed before
                                                ("DS Brown", "review withdrawn", 1)]
    assert _custody(case)[-1]["details"]["marks"] == {"relevant": 2}


@pytest.mark.parametrize("args, message", [
    (("--reason", "  "), "removing a mark needs the reason"),
    (("--reason", "x", "--mark", "relevant"), "no relevant held on this item"),
    (("--reason", "x", "EXTRA"), "is not file:N or record:N"),
])
def test_remove_refused_changes_nothing(case: Path, args: tuple[str, ...], message: str) -> None:
    (f1, _), (f2, _) = _some_files(case, 2)
    assert devicex("tag", "add", str(case), f"file:{f1}", "--mark", "sensitive", "--note", "why",
                   "--examiner", "DC Jones").returncode == 0
    db, log = (case / "data" / "case.db").read_bytes(), _custody(case)
    items = [f"file:{f1}"] + (["nonsense"] if "EXTRA" in args else [])
    done = devicex("tag", "remove", str(case), *items, *[a for a in args if a != "EXTRA"], "--examiner", "X")
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (case / "data" / "case.db").read_bytes() == db and _custody(case) == log


def test_remove_an_unmarked_item_names_it_and_removes_nothing(case: Path) -> None:
    (f1, _), (f2, _) = _some_files(case, 2)
    assert devicex("tag", "add", str(case), f"file:{f1}", "--mark", "relevant", "--examiner", "DC Jones"
                   ).returncode == 0
    db, log = (case / "data" / "case.db").read_bytes(), _custody(case)
    done = devicex("tag", "remove", str(case), f"file:{f1}", f"file:{f2}", "--reason", "x", "--examiner", "X")
    assert done.returncode == 2 and f"file:{f2}: no mark held on this item" in done.stderr
    assert (case / "data" / "case.db").read_bytes() == db and _custody(case) == log  # not even file:{f1}


def test_removed_mark_imported_again_is_held_again(case: Path, tmp_path: Path) -> None:
    (f1, p1), = _some_files(case, 1)
    doc = {"format": "devicex-tags", "version": 1, "tags": [
        {"item": f"file:{f1}", "mark": "relevant", "note": "", "by": "DC Smith", "at": "2024-05-02T09:00:00Z"}]}
    tags_file = tmp_path / "marks.json"
    tags_file.write_text(json.dumps(doc))
    assert devicex("tag", "import", str(case), str(tags_file), "--examiner", "X").returncode == 0
    assert devicex("tag", "remove", str(case), f"file:{f1}", "--reason", "duplicate", "--examiner", "X"
                   ).returncode == 0
    again = devicex("tag", "import", str(case), str(tags_file), "--examiner", "X")
    assert again.returncode == 0 and "1 tag(s) added, 0 already held" in again.stdout
    assert [r[-1] for r in _tag_rows(case)] == [1, 0]
    assert [e["action"] for e in _custody(case)[-3:]] == ["tags-import", "tags-remove", "tags-import"]


def test_remove_on_a_case_tagged_before_marks_could_be_removed(case: Path) -> None:
    """A tags table without the removal columns (as written before) gains them on the first removal."""
    (f1, _), = _some_files(case, 1)
    conn = sqlite3.connect(case / "data" / "case.db")
    conn.executescript("CREATE TABLE tags (id INTEGER PRIMARY KEY, item_kind TEXT NOT NULL, item_id INTEGER NOT "
                       "NULL, mark TEXT NOT NULL, note TEXT NOT NULL, tagged_by TEXT NOT NULL, tagged_at TEXT NOT "
                       "NULL, imported_by TEXT NOT NULL, imported_at TEXT NOT NULL, origin TEXT NOT NULL);")
    conn.execute("INSERT INTO tags VALUES (1, 'file', ?, 'relevant', '', 'DC Old', '2024-01-01T00:00:00Z', "
                 "'DC Old', '2024-01-01T00:00:00Z', 'command line')", (f1,))
    conn.commit()
    conn.close()
    done = devicex("tag", "remove", str(case), f"file:{f1}", "--reason", "old mark withdrawn", "--examiner", "X")
    assert done.returncode == 0, done.stderr
    assert _tag_rows(case) == [(f"file:{f1}", "relevant", "DC Old", "X", "old mark withdrawn", 1)]
