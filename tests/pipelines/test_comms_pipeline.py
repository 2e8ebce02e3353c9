"""Communications databases through the whole pipeline: comms.img (ext4 made by mke2fs -d, see
fixtures/comms/build_image.sh) extracted by worker processes and by one thread, records streamed
to case.db (spooled past a small in-memory limit), WAL siblings found through the file system."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipelines import parallel, recordsink
from pipelines.extract import ExtractOptions, run
from tests.parsers.comms_support import FIXTURES, truth

IMAGE = FIXTURES / "comms.img"


def _extract(out: Path, workers: int) -> sqlite3.Connection:
    summary = run(ExtractOptions(source=IMAGE, out=out, full_reason="test", workers=workers))
    assert summary.fatal is None and summary.errors == 0
    conn = sqlite3.connect(out / "data" / "case.db")
    conn.row_factory = sqlite3.Row
    return conn


def _records(conn: sqlite3.Connection) -> list[tuple[str, str, int, str]]:
    return [tuple(r) for r in conn.execute(
        "SELECT f.path, r.source_table, r.source_rowid, r.data FROM records r JOIN files f ON f.id = r.file_id "
        "WHERE r.record_type = 'message' ORDER BY r.id")]


@pytest.mark.parametrize("spool", [False, True])
def test_messages_reach_case_db_with_their_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spool: bool) -> None:
    if spool:  # a few rows in memory, the rest through spool files in small batches; every stream is
        # alone in its batch, so the writer reads its first parser's spool while it is written
        monkeypatch.setattr(recordsink, "IN_MEMORY", 2)
        monkeypatch.setattr(recordsink, "BATCH", 3)
        monkeypatch.setattr(parallel, "BATCH_BYTES", 1)
        monkeypatch.setattr(parallel, "TAIL_EVERY", 0.001)
    procs = _extract(tmp_path / "procs", 2)
    thread = _extract(tmp_path / "thread", 1)
    rows = _records(procs)
    assert rows == _records(thread)
    rows = [r for r in rows if "com.android.providers.telephony" in r[0]]  # same records, same order, whichever runner
    ce = [r for r in rows if r[0].startswith("/data/user/0/")]
    de = [r for r in rows if r[0].startswith("/data/user_de/0/")]
    assert len(de) == len(truth(FIXTURES / "plaso" / "truth" / "android_mmssms.sms.csv"))
    here = FIXTURES / "android_sms" / "truth"
    live = len(truth(here / "sms.with-wal.csv")) + len(truth(here / "pdu.csv"))
    deleted = [r for r in ce if json.loads(r[3])["deleted"]]
    assert len(ce) == live + 2 and sorted(r[2] for r in deleted) == [3, 4]  # the WAL sibling was applied
    assert {r[1] for r in ce + de} == {"sms", "pdu"}
    kinds = {k: json.loads(s) for k, s in procs.execute("SELECT record_type, schema FROM record_kinds")}
    assert {"message", "sqlite_table"} <= set(kinds)
    fields = {f["name"]: f for f in kinds["message"]["fields"]}
    assert fields["time_utc"]["type"] == "time" and fields["sender_id"]["role"] == "participant-id"
    assert not list((tmp_path / "procs" / "data").glob(".staging/*/*"))  # spools and scratch copies gone


def test_every_artefact_of_the_image_is_parsed(tmp_path: Path) -> None:
    conn = _extract(tmp_path / "out", 2)
    paths = {r[0] for r in conn.execute("SELECT path FROM files")}
    resolved = [att for r in conn.execute("SELECT data FROM records WHERE record_type = 'message'")
                for att in json.loads(r[0])["attachments"] if att["path"]]
    # MMS part, WhatsApp Android and iOS media, iOS Messages attachment: each an entry of the image
    assert len(resolved) == 4 and all(att["path"] in paths for att in resolved)
    counts = dict(conn.execute("SELECT parser, count(*) FROM records WHERE record_type != 'sqlite_table' "
                               "GROUP BY parser").fetchall())
    assert set(counts) == {"android_sms", "android_calls", "android_contacts", "bugle_db", "whatsapp_android",
                           "ios_sms", "ios_callhistory", "ios_addressbook", "whatsapp_ios", "chrome_history",
                           "firefox_places", "safari_history"}
    kinds = {r[0] for r in conn.execute("SELECT record_type FROM record_kinds")}
    assert kinds == {"message", "call", "contact", "web_visit", "download", "sqlite_table", "encrypted_store"}
    assert conn.execute("SELECT count(*) FROM records WHERE record_type = 'encrypted_store'").fetchone()[0] == 1
