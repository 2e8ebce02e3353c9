"""Outputs are a function of the input and the options, not of how the code is
arranged: the normalised digests of everything devicex writes for the fixture
images (case.db tables, exported files, custody entries, every report and
export format, the dry run's table, exit codes) equal the digests recorded in
fixtures/golden/outputs.json. fixtures/golden/README.md says which commit made
them and how to make them again after a change that is meant to change outputs.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "fixtures" / "golden" / "outputs.json"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("output_digest", REPO / "fixtures" / "tools" / "output_digest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()
EXPECTED: dict[str, dict[str, str]] = json.loads(GOLDEN.read_text(encoding="utf-8"))["cases"]


def test_every_case_has_expected_digests() -> None:
    assert sorted(EXPECTED) == sorted(TOOL.CASES)


@pytest.mark.parametrize("name", sorted(TOOL.CASES))
def test_outputs_unchanged(name: str, tmp_path: Path) -> None:
    got = TOOL.case_digests(REPO, name, tmp_path)
    changed = sorted(k for k in set(got) | set(EXPECTED[name]) if got.get(k) != EXPECTED[name].get(k))
    assert not changed, (f"{name}: outputs differ from fixtures/golden/outputs.json in: {', '.join(changed)} "
                         "(if the change is intended, regenerate as fixtures/golden/README.md says)")
