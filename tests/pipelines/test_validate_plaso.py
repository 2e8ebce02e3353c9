"""plaso's own test expectations as truth for the communications parsers (pipelines/validate/plaso_*):
the sheet is read as the plaso authors wrote it, devicex's records agree with it, and a changed
expectation is a listed disagreement."""
from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.validate import Validation, plaso_compare
from pipelines.validate.plaso_sheet import read_sheet, sheet_in
from pipelines.validate.record import FAIL, PASS, Tally
from pipelines.validate.requirements import check_modules
from pipelines.validate.truth import load_dataset
from tests.conftest import CORPUS, needs_corpus

SHIPPED = Path(__file__).resolve().parents[2] / "fixtures" / "comms" / "plaso"


def _tallies() -> dict[str, Tally]:
    return {m.REQUIREMENT.id: Tally(m.REQUIREMENT) for m in check_modules()}


def _compare(work: Path, folder: Path, name: str = "t") -> tuple[dict[str, Tally], int]:
    tallies = _tallies()
    placed = plaso_compare.run(Validation(work, lambda _: [], lambda _: None), tallies, name, folder)
    return tallies, placed


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Tally], int]:
    return _compare(tmp_path_factory.mktemp("plaso"), SHIPPED)


def test_the_sheet_is_read_as_written() -> None:
    sheet = sheet_in(SHIPPED)
    assert sheet is not None
    rows = {r.file: r for r in read_sheet(sheet)}
    assert len(rows) == 9
    sms = rows["android_mmssms.db"]
    assert (sms.plugin, sms.count, sms.subcounts, sms.warnings) == ("android_sms", 9, (("sent", 5), ("received", 4)), 0)
    (first,) = sms.expected
    assert dict(first.values) == {"address": "1 555-521-5554", "time": "2013-10-29T16:56:28.038Z",
                                  "body": "Yo Fred this is my new number.", "type": 2, "read": 1}
    visit, download = rows["chrome_History"].expected
    assert (visit.kind, visit.get("url"), visit.get("transition")) == \
        ("record", "http://start.ubuntu.com/10.04/Google/", 0)
    assert (download.kind, download.get("target_path"), download.get("received_bytes")) == \
        ("download", "/home/john/Downloads/funcats_scr.exe", 1132155)
    assert dict(rows["safari_History.db"].expected[0].values)["title"] is None
    assert dict(rows["android_contacts2.db"].expected[0].values)["end"] == "2013-11-06T21:17:16.690Z"


def test_shipped_databases_agree_with_plaso(shipped: tuple[dict[str, Tally], int]) -> None:
    tallies, placed = shipped
    assert placed == 7  # chrome 57 and 58 are only in the corpus
    for parser in ("android_sms", "android_calls", "ios_sms", "safari_history", "firefox_places", "chrome_history"):
        tally = tallies[f"parser:{parser}"]
        assert tally.compared >= 5 and tally.status == PASS, (parser, tally.disagreements)
        assert "plaso" in tally.requirement.made_by


def test_differences_are_stated_with_their_cause(shipped: tuple[dict[str, Tally], int]) -> None:
    tallies, _ = shipped
    (limit,) = tallies["parser:firefox_places"].known_limits
    assert (limit.devicex, limit.truth) == ("1 records", "103 (page visits, bookmarks, bookmark annotations, folders)")
    (fault,) = tallies["parser:safari_history"].truth_faults
    assert fault.item.endswith("title (history_visits rowid 37)")
    assert fault.evidence.endswith("FROM history_visits WHERE rowid = 37 -> text|''")


def test_a_changed_expectation_is_a_disagreement(tmp_path: Path) -> None:
    folder = tmp_path / "plaso"
    shutil.copytree(SHIPPED, folder)
    sheet = folder / "truth" / "plaso-test-expectations.md"
    text = sheet.read_text(encoding="utf-8")
    text = text.replace("| 3 calls;", "| 4 calls;").replace("`Yo Fred this is my new number.`", "`Yo Fred`")
    sheet.write_text(text.replace("visit_count 4, transition 0", "visit_count 5, transition 1"), encoding="utf-8")
    tallies, _ = _compare(tmp_path / "work", folder)
    assert tallies["parser:android_calls"].status == FAIL
    assert [(f.devicex, f.truth) for f in tallies["parser:android_calls"].disagreements] == [("3 records", "4 calls; 0 warnings")]
    assert [(f.item.rsplit(" ", 4)[-4], f.devicex, f.truth) for f in tallies["parser:android_sms"].disagreements] == \
        [("body", "'Yo Fred this is my new number.'", "'Yo Fred'")]
    assert sorted(f.item.rsplit(" ", 4)[-4] for f in tallies["parser:chrome_history"].disagreements) == \
        ["transition", "visit_count"]


def test_a_record_missing_at_the_expected_time_is_a_disagreement(tmp_path: Path) -> None:
    folder = tmp_path / "plaso"
    shutil.copytree(SHIPPED, folder)
    sheet = folder / "truth" / "plaso-test-expectations.md"
    sheet.write_text(sheet.read_text(encoding="utf-8").replace("2015-11-30T10:48:40Z", "2015-11-30T10:48:41Z"),
                     encoding="utf-8")
    tallies, _ = _compare(tmp_path / "work", folder)
    (finding,) = tallies["parser:ios_sms"].disagreements
    assert finding.devicex == "no such record" and "2015-11-30T10:48:41Z" in finding.item


def test_sheet_values_in_devicex_terms() -> None:
    assert plaso_compare.sheet_value("android_calls", "type", 3) == "missed"
    assert plaso_compare.sheet_value("android_sms", "type", 2) == "outgoing"
    assert plaso_compare.sheet_value("firefox_history", "visit_type", 2) == "typed"
    assert plaso_compare.sheet_value("chrome_27_history", "transition", 0x30000006) == "auto_toplevel"
    assert plaso_compare.sheet_value("imessage", "time", "2015-11-30T10:48:40Z") == \
        datetime(2015, 11, 30, 10, 48, 40, tzinfo=UTC)


@needs_corpus
def test_corpus_databases_agree_with_plaso(tmp_path: Path) -> None:
    ds = load_dataset(CORPUS)
    assert CORPUS / "plaso-sqlite" in ds.plaso_folders
    assert not [label for label, _ in ds.skipped if "plaso-sqlite/chrome_History" in label]
    tallies, placed = _compare(tmp_path, CORPUS / "plaso-sqlite", "corpus:plaso-sqlite")
    assert placed == 9
    assert all(t.status == PASS for t in tallies.values() if t.compared), \
        {k: t.disagreements for k, t in tallies.items() if t.disagreements}
    assert tallies["parser:chrome_history"].compared >= 20
