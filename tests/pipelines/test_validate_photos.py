"""The corpus' exif-py photos read through devicex's folder source and compared with their
exiftool truth (the same comparison `devicex validate --dataset ../shared/corpus` makes)."""
from __future__ import annotations

from pathlib import Path

from pipelines.validate import Validation
from pipelines.validate.truth import load_dataset
from tests.conftest import CORPUS, needs_corpus

pytestmark = needs_corpus


def test_exif_py_photos_against_exiftool(tmp_path: Path) -> None:
    ds = load_dataset(CORPUS)
    folder = CORPUS / "exif-py"
    assert ds.photo_folders == [folder]
    assert not any("exif-py/" in label for label, _ in ds.skipped)
    v = Validation(tmp_path, lambda _: [], lambda _: None)
    v._photos(ds, folder)
    tally = v.tallies["exif"]
    assert tally.compared >= 40
    # every value agrees, the Nikon D3100's maker-note serial (exiftool: SerialNumber 6754846) included
    assert tally.disagreements == [] and tally.agreed == tally.compared
    assert v.tallies["custody-chain"].compared > 0 and not v.tallies["custody-chain"].disagreements

