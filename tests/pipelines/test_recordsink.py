"""Records from a worker to case.db: the spool holds every row in order once past the in-memory
limit, its frames can be read while it is being written (a frame cut short is left for later), and
the writer that read part of a spool while the parser ran (ResultWriter.tail) writes each record
once, in the order the parser yielded them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import parsers
from devicex.casedb import CaseDB
from devicex.entries import Entry
from devicex.records import Provenance
from devicex.sqlitedb import TableReport
from pipelines import recordsink
from pipelines.events import SilentReporter
from pipelines.extract import Summary
from pipelines.process import ParserOutcome, Result, record_spool
from pipelines.recordsink import RecordSink, spooled
from pipelines.store import ResultWriter

PATH = "/data/data/com.android.providers.telephony/databases/mmssms.db"


def _record(rowid: int) -> TableReport:
    prov = Provenance("phone.img", "p1", "12", PATH).row("sms", rowid)
    return TableReport(provenance=prov, table="sms", rows=rowid, rows_only_without_log=None, max_rowid=None,
                       sequence=None, missing_rowids=0, gaps=())


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recordsink, "IN_MEMORY", 2)
    monkeypatch.setattr(recordsink, "BATCH", 3)


def test_past_the_limit_every_row_is_spooled_in_order(tmp_path: Path) -> None:
    sink = RecordSink(tmp_path / "r.records")
    for i in range(1, 3):
        sink.add(_record(i))
    assert len(sink.rows) == 2 and sink.spool is None  # within the limit: carried in memory
    for i in range(3, 11):
        sink.add(_record(i))
    sink.close()
    assert sink.rows == [] and sink.spool is not None and sink.count == 10
    batches = [batch for batch, _ in spooled(sink.spool)]
    assert [row[4] for batch in batches for row in batch] == list(range(1, 11))
    data = sink.spool.read_bytes()
    cut = tmp_path / "cut.records"
    cut.write_bytes(data[:-5])  # the last frame still being written
    assert [b for b, _ in spooled(cut)] == batches[:-1]
    _, end = list(spooled(sink.spool))[0]
    assert [b for b, _ in spooled(sink.spool, end)] == batches[1:]


def _entry(file_id: int) -> Entry:
    return Entry("phone.img", "p1", 0, "ext4", file_id, None, None, None, PATH, "mmssms.db", b"mmssms.db", "file", 1,
                 "allocated", False, None, None, None, None, None)


def test_the_writer_reads_spools_while_they_are_written_and_writes_each_record_once(tmp_path: Path) -> None:
    """The stream due next is written into records as its frames come; one after it is staged meanwhile, and
    copied into records, in order, when it comes due: the rows are those, in the order, that writing each
    result after its parser would give."""
    data = tmp_path / "data"
    data.mkdir()
    db = CaseDB(data / "case.db")
    writer = ResultWriter(db, 1, 1, Summary(), SilentReporter())
    spec = next(s for s in parsers.registry() if s.name == "android_sms")
    sinks = {7: RecordSink(record_spool(data, 7, 0, spec.name)), 8: RecordSink(record_spool(data, 8, 0, spec.name))}
    for i in range(1, 8):
        sinks[7].add(_record(i))
        sinks[8].add(_record(100 + i))
    writer.beside(6, [])  # another stream: nothing of these is written
    writer.beside(7, [8])
    db.flush()
    early = [r[0] for r in db.conn.execute("SELECT source_rowid FROM records ORDER BY id")]
    assert early == list(range(1, 7))  # the frames of 7 written so far (rows 7.. are not yet spooled)
    staged = sqlite3.connect(data / ".staging" / "records" / "staged.sqlite")
    assert [r[0] for r in staged.execute("SELECT source_rowid FROM f8 ORDER BY rowid")] == list(range(101, 107))
    staged.close()
    for i in range(8, 12):
        sinks[7].add(_record(i))
        sinks[8].add(_record(100 + i))
    writer.beside(None, [8])
    for file_id, sink in sinks.items():
        sink.close()
        outcome = ParserOutcome(spec, rows=sink.rows, spool=sink.spool, count=sink.count, kinds=sink.kinds)
        writer.write(Result(_entry(file_id), file_id, None, status="ok", parsed=[outcome]))
    writer.finish(parsers.registry())
    db.flush()
    conn = sqlite3.connect(data / "case.db")
    rows = conn.execute("SELECT file_id, parser, source_rowid FROM records ORDER BY id").fetchall()
    assert rows == [(7, "android_sms", i) for i in range(1, 12)] + [(8, "android_sms", 100 + i) for i in range(1, 12)]
    assert not any(sink.spool and sink.spool.exists() for sink in sinks.values())
    assert not (data / ".staging" / "records" / "staged.sqlite").exists()
