"""The CI-sized fault-injection run (tests/faults/harness.py): every mutated image and every kill -9 is
survived. `python3 tests/faults/harness.py --long` runs the long local set."""
from __future__ import annotations

from pathlib import Path

from tests.faults import harness


def test_every_fault_is_survived(tmp_path: Path) -> None:
    report = harness.run_all(tmp_path, harness.CI_MUTATIONS, harness.CI_KILLS, seed=13)
    print(report.render())
    table = report.table()
    kinds = {cls.split(" / ")[0] for cls in table}
    targets = {cls.split(" / ")[1] for cls in table}
    assert kinds == {"flip", "zero", "duplicate", "truncate", "kill-9"}
    assert {"fat", "exfat", "ntfs", "ext4", "e01", "mbr", "gpt", "split"} <= targets
    assert not report.wrong(), report.render()
