"""Conversations from a folder source holding the same mmssms.db in the credential-encrypted and the
device-encrypted store (Android keeps both): every message is recorded twice, with its own row
provenance, and shown once in its conversation, naming the other copy."""
from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.extract import ExtractOptions, run
from reports import comms
from reports.model import open_case
from tests.parsers.comms_support import FIXTURES, truth

CE = "data/user/0/com.android.providers.telephony"
DE = "data/user_de/0/com.android.providers.telephony"


def test_both_stores_recorded_and_shown_once(tmp_path: Path) -> None:
    tree = tmp_path / "phone"
    for store in (CE, DE):
        (tree / store / "databases").mkdir(parents=True)
        for name in ("mmssms.db", "mmssms.db-wal"):
            shutil.copy(FIXTURES / "android_sms" / name, tree / store / "databases" / name)
    summary = run(ExtractOptions(source=tree, out=tmp_path / "out", full_reason="test", workers=1))
    assert summary.fatal is None and summary.errors == 0
    here = FIXTURES / "android_sms" / "truth"
    per_copy = len(truth(here / "sms.with-wal.csv")) + len(truth(here / "pdu.csv")) + 2  # + 2 main-file-only rows
    with open_case(tmp_path / "out") as case:
        assert comms.count(case, comms.MESSAGE) == 2 * per_copy
        threads = list(comms.threads(case))
        shown = [m for t in threads for m in t.messages]
        assert len(shown) == per_copy and sum(t.duplicates for t in threads) == per_copy
        for m in shown:
            assert len(m["also_in"]) == 1 and "/user_de/0/" in m["also_in"][0]
            assert "/user/0/" in m["path"]
        deleted = [m for m in shown if m["data"]["deleted"]]
        assert sorted(m["rowid"] for m in deleted) == [3, 4]
