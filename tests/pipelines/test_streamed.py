"""A phone extraction delivered as an archive: the tree of comms.img (fixtures/comms/build_image.sh --tree)
archived by GNU tar (plain, gzip; in name order, where each database comes before its ``-wal`` and after
its attachments, and in reverse name order, where each ``-wal`` comes first and the attachments after)
and by Info-ZIP zip. Parsers reach their siblings (``-wal``, ``wa.db``, attachments) in every one, so
the records equal those of the same tree as an ext4 image; the WAL rows are those the sqlite3 shell
reads (fixtures/comms/android_sms/truth)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from pipelines.extract import ExtractOptions, run
from tests.parsers.comms_support import FIXTURES, truth

ENV = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
Row = tuple[str, str, str, str, int, str]


def _records(source: Path, out: Path, workers: int = 2) -> list[Row]:
    summary = run(ExtractOptions(source=source, out=out, full_reason="test", workers=workers))
    assert summary.fatal is None and summary.errors == 0
    conn = sqlite3.connect(out / "data" / "case.db")
    rows = conn.execute("SELECT r.parser, r.record_type, f.path, r.source_table, r.source_rowid, r.data FROM records r "
                        "JOIN files f ON f.id = r.file_id").fetchall()
    problems = conn.execute("SELECT count(*) FROM errors WHERE stage LIKE 'parse:%'").fetchone()[0]
    conn.close()
    assert not list((out / "data").glob(".staging/*"))  # kept copies and the index are gone
    return sorted((*r[:4], r[4] if r[4] is not None else -1, r[5]) for r in rows) + [("problems", "", "", "",
                                                                                        problems, "")]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("phone") / "root"
    subprocess.run(["bash", str(FIXTURES / "build_image.sh"), "--tree", str(root)], check=True, env=ENV)
    listing = subprocess.run(["find", ".", "-type", "f"], cwd=root, check=True, capture_output=True,
                             text=True).stdout.split("\n")
    assert sorted(p for p in listing if p) == (FIXTURES / "comms.img.tree").read_text().split("\n")[:-1]
    return root


@pytest.fixture(scope="module")
def image_records(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return _records(FIXTURES / "comms.img", tmp_path_factory.mktemp("img") / "out")


def _tar(tree: Path, archive: Path, reverse: bool, gzip: bool) -> Path:
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=tree, check=True, capture_output=True,
                           text=True).stdout.split("\n")
    names = sorted((n for n in names if n), reverse=reverse)
    (archive.parent / "list").write_text("\n".join(names) + "\n")
    subprocess.run(["tar", "--no-recursion", "-c", *(["-z"] if gzip else []), "-f", str(archive), "-C", str(tree),
                    "-T", str(archive.parent / "list")], check=True, env=ENV)
    listing = subprocess.run(["tar", "-tf", str(archive)], check=True, capture_output=True, text=True).stdout
    wal = "./data/user/0/com.android.providers.telephony/databases/mmssms.db-wal"
    db, part = wal[:-4], "./data/user/0/com.android.providers.telephony/app_parts/PART_1700000000001.jpg"
    order = listing.split("\n")
    assert (order.index(db) < order.index(wal)) != reverse and (order.index(part) < order.index(db)) != reverse
    return archive


def _zip(tree: Path, archive: Path) -> Path:
    subprocess.run(["zip", "-q", "-r", "-X", str(archive), "."], cwd=tree, check=True, env=ENV)
    listing = subprocess.run(["zipinfo", "-1", str(archive)], check=True, capture_output=True, text=True).stdout
    assert "data/data/com.whatsapp/databases/msgstore.db-wal" in listing.split("\n")
    return archive


@pytest.mark.parametrize("kind", ["tar", "tar-reverse", "tar.gz-reverse", "zip"])
def test_archive_records_equal_the_image_records(tree: Path, image_records: list[Row], tmp_path: Path,
                                                 kind: str) -> None:
    if kind == "zip":
        archive = _zip(tree, tmp_path / "phone.zip")
    else:
        archive = _tar(tree, tmp_path / ("phone.tar.gz" if "gz" in kind else "phone.tar"), "reverse" in kind,
                       "gz" in kind)
    rows = _records(archive, tmp_path / "out")
    assert rows == image_records
    sms = [r for r in rows if r[2] == "/data/user/0/com.android.providers.telephony/databases/mmssms.db"
           and r[1] == "message"]
    here = FIXTURES / "android_sms" / "truth"
    live = len(truth(here / "sms.with-wal.csv")) + len(truth(here / "pdu.csv"))
    deleted = sorted(r[4] for r in sms if json.loads(r[5])["deleted"])
    assert len(sms) == live + 2 and deleted == [3, 4]  # the -wal applied, and the rows only without it found
    attached = [a for r in rows if r[1] == "message" for a in json.loads(r[5])["attachments"] if a["path"]]
    assert len(attached) == 4  # MMS part, WhatsApp Android and iOS media, iOS Messages attachment
    names = [json.loads(r[5])["sender_name"] for r in rows if r[0] == "whatsapp_android" and r[1] == "message"]
    assert any(names)  # contact names from wa.db, a sibling database


def test_one_worker_thread_reads_the_same(tree: Path, image_records: list[Row], tmp_path: Path) -> None:
    archive = _tar(tree, tmp_path / "phone.tar", True, False)
    assert _records(archive, tmp_path / "out", workers=1) == image_records


def test_a_database_cut_short_in_the_archive_is_partial_and_the_run_goes_on(tree: Path, tmp_path: Path) -> None:
    archive = _tar(tree, tmp_path / "phone.tar", True, False)
    data = archive.read_bytes()
    wal = (tree / "data/user/0/com.android.providers.telephony/databases/mmssms.db-wal").read_bytes()
    db = (tree / "data/user/0/com.android.providers.telephony/databases/mmssms.db").read_bytes()
    assert data.index(wal) < data.index(db)  # reverse order: the -wal is kept, then the database is cut
    archive.write_bytes(data[: data.index(db) + len(db) // 2])
    summary = run(ExtractOptions(source=archive, out=tmp_path / "out", full_reason="test", workers=2))
    conn = sqlite3.connect(tmp_path / "out" / "data" / "case.db")
    status = conn.execute("SELECT status FROM files WHERE path = ?",
                          ("/data/user/0/com.android.providers.telephony/databases/mmssms.db",)).fetchone()
    walk = [r[0] for r in conn.execute("SELECT message FROM errors WHERE stage = 'walk'")]
    assert status == ("partial",) and summary.fatal is None
    assert len(walk) == 1 and "mmssms.db" in walk[0] and "nothing after it is read" in walk[0]
