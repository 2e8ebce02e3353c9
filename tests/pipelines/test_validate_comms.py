"""The communications parsers' validation checks (pipelines/validate/checks/) on comms.img:
each parser's records agree with the sqlite3 shell's truth, and a doctored truth value fails."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import parsers
from pipelines.validate import Validation
from pipelines.validate.comms import COMMS, Check, Store, run_check
from pipelines.validate.record import FAIL, PASS, Tally
from pipelines.validate.requirements import check_modules


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> Validation:
    v = Validation(tmp_path_factory.mktemp("comms"), lambda _: [], lambda _: None)
    v.parsers()
    return v


def test_every_parser_but_exif_has_a_check_and_passes(validation: Validation) -> None:
    names = {spec.name for spec in parsers.registry()} - {"exif"}
    assert {m.PARSER for m in check_modules()} == names
    for name in names:
        tally = validation.tallies[f"parser:{name}"]
        assert tally.status == PASS, (name, tally.disagreements[:3])
        assert tally.compared >= 5, name


def test_a_doctored_truth_value_fails_the_check(validation: Validation, tmp_path: Path) -> None:
    from pipelines.validate.checks import android_calls

    doctored = tmp_path / "calls.csv"
    shutil.copy(COMMS / "android_calls/truth/calls.csv", doctored)
    text = doctored.read_text(encoding="utf-8")
    doctored.write_text(text.replace("1700001000000", "1700001000001", 1), encoding="utf-8")
    store = android_calls.CHECK.stores[0]
    tally = Tally(android_calls.REQUIREMENT)
    run_check(validation, tally, Check("android_calls", (Store(**{**store.__dict__, "truth": (str(doctored),)}),)))
    assert tally.status == FAIL
    assert [f.item.split("calls ")[-1] for f in tally.disagreements] == ["rowid 1 time (raw)", "rowid 1 time (UTC)"]


def test_a_missing_row_is_a_count_disagreement(validation: Validation, tmp_path: Path) -> None:
    from pipelines.validate.checks import whatsapp_ios

    store = whatsapp_ios.CHECK.stores[0]
    lines = (COMMS / store.truth[0]).read_text(encoding="utf-8").splitlines(keepends=True)
    short = tmp_path / "message.csv"
    short.write_text("".join(lines[:-1]), encoding="utf-8")
    tally = Tally(whatsapp_ios.REQUIREMENT)
    run_check(validation, tally, Check("whatsapp_ios", (Store(**{**store.__dict__, "truth": (str(short),)}),)))
    assert [f.item.rsplit(" ", 2)[-2:] for f in tally.disagreements] == [["row", "ids"]]
