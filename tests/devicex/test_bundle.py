"""Sealing real extractions into BagIt bundles; standard tools agree; hand-over; zip; CLI end to end."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

from cli import main  # noqa: E402
from devicex.bagit import BAGIT_DECLARATION, BundleError, parse_bag_info, parse_manifest  # noqa: E402
from devicex.bundle import seal, write_zip  # noqa: E402
from devicex.custody import Actor, Artefact, CustodyLog, read_chain  # noqa: E402
from devicex.handover import NotVerified, handover  # noqa: E402
from devicex.keys import fingerprint, init_keys, load_private_key  # noqa: E402
from devicex.verify import verify_bundle  # noqa: E402
from pipelines.extract import ExtractOptions, run  # noqa: E402
from tests.sealing_support import (  # noqa: E402,F401
    CASE,
    EXAMINER,
    EXHIBIT,
    bundle,
    bundle_files,
    copy_of,
    extracted,
    image,
    out_dir,
    primary_image,
    sealed,
    session_key,
    signing_key,
    snapshot,
    work_root,
)

OPENSSL = shutil.which("openssl")
SHA256SUM = shutil.which("sha256sum")


def _bag_info(b: Path) -> dict[str, list[str]]:
    fields, problems = parse_bag_info((b / "bag-info.txt").read_bytes())
    assert not problems
    out: dict[str, list[str]] = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    return out


def test_layout_of_a_sealed_extraction(bundle: Path, signing_key) -> None:  # noqa: F811
    fp = fingerprint(signing_key.public_key())
    top = sorted(p.name for p in bundle.iterdir())
    assert top == sorted(["bag-info.txt", "bagit.txt", "custody.jsonl", "data", "manifest-sha256.txt",
                          "payload-sizes.txt", "seal-signature.ed25519", "seal-statement.json", "signing-key.pub.pem",
                          "tagmanifest-sha256.txt"])
    assert (bundle / "bagit.txt").read_bytes() == BAGIT_DECLARATION
    manifest_text = (bundle / "manifest-sha256.txt").read_text("utf-8")
    manifest, problems = parse_manifest(manifest_text.encode())
    assert not problems
    payload = [f for f in bundle_files(bundle) if f.startswith("data/")]
    assert sorted(manifest) == payload and "data/case.db" in manifest
    assert [ln.split("  ", 1)[1] for ln in manifest_text.splitlines()] == sorted(manifest)  # deterministic order
    for rel, digest in manifest.items():
        assert hashlib.sha256((bundle / rel).read_bytes()).hexdigest() == digest
    tags, _ = parse_manifest((bundle / "tagmanifest-sha256.txt").read_bytes())
    assert sorted(tags) == ["bag-info.txt", "bagit.txt", "custody.jsonl", "manifest-sha256.txt", "payload-sizes.txt",
                            "signing-key.pub.pem"]
    info = _bag_info(bundle)
    size = sum((bundle / p).stat().st_size for p in payload)
    assert info["Payload-Oxum"] == [f"{size}.{len(payload)}"]
    assert info["Case-Reference"] == [CASE] and info["Exhibit-Reference"] == [EXHIBIT]
    assert info["Examiner"] == [EXAMINER.name] and info["Source-Organization"] == ["Test Digital Forensics Unit"]
    assert info["Tool"] == ["devicex"] and info["Tool-Version"] and len(info["Bagging-Date"][0]) == 10
    assert info["Signing-Key-Fingerprint-SHA256"] == [fp]
    chain = read_chain(bundle / "custody.jsonl")
    assert chain.ok and info["Custody-Log-Entries"] == [str(chain.lines)] and info["Custody-Log-Head-SHA256"] == [
        chain.head]
    intake = next(e.entry for e in chain.entries if e.entry["action"] == "intake")
    assert info["Source-SHA256"] == [intake["details"]["sha256"]] and info["Source-Reverified"] == ["match"]
    last = chain.entries[-1].entry
    assert last["action"] == "seal" and last["details"]["seal"]["key_fingerprint_sha256"] == fp
    statement = json.loads((bundle / "seal-statement.json").read_bytes())
    tagmanifest = (bundle / "tagmanifest-sha256.txt").read_bytes()
    assert statement["tagmanifest_sha256"] == hashlib.sha256(tagmanifest).hexdigest()
    assert (statement["custody_entries"], statement["custody_head_sha256"]) == (chain.lines, chain.head)
    assert len((bundle / "seal-signature.ed25519").read_bytes()) == 64
    result = verify_bundle(bundle, fp)
    assert result.ok, result.failures


def test_sha256sum_checks_both_manifests(bundle: Path) -> None:  # noqa: F811
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        done = subprocess.run([SHA256SUM or "sha256sum", "-c", "--strict", manifest], cwd=bundle,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_openssl_verifies_the_seal_signature(bundle: Path) -> None:  # noqa: F811
    done = subprocess.run([OPENSSL or "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signing-key.pub.pem",
                           "-rawin", "-in", "seal-statement.json", "-sigfile", "seal-signature.ed25519"],
                          cwd=bundle, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["fat16.img", "ntfs.img", "corpus", "primary"])
def test_bagit_package_full_validation(work_root: Path, tmp_path: Path, name: str) -> None:  # noqa: F811
    src = primary_image() if name == "primary" else image(name)
    b = copy_of(sealed(work_root, src), tmp_path)
    # Export names never contain "%" (devicex escapes with "^HH"), so the bagit package, which decodes
    # "%0A"/"%0D" in manifest paths, sees exactly the names sha256sum sees.
    assert not [f for f in bundle_files(b) if "%" in f]
    bagit.Bag(str(b)).validate()
    assert verify_bundle(b).ok


def test_handover_twice_still_verifies(bundle: Path, signing_key) -> None:  # noqa: F811
    first = handover(bundle, signing_key, EXAMINER, "CPS Leeds, J. Smith", "charging decision")
    officer = Actor("PC-77", "Officer In Case")
    second_key = init_keys(bundle.parent / "oic.pem")
    second = handover(bundle, load_private_key(second_key.private_path), officer, "Defence expert",
                      "disclosure", from_="CPS Leeds", previous_fingerprint=first.fingerprint)
    result = verify_bundle(bundle, second.fingerprint)
    assert result.ok, result.failures
    actions = [e["action"] for e in result.custody]
    assert actions[-3:] == ["seal", "handover", "handover"] and actions.count("seal") == 1
    assert result.custody[-2]["to"] == "CPS Leeds, J. Smith" and result.custody[-2]["reason"] == "charging decision"
    assert result.custody[-1]["from"] == "CPS Leeds" and result.custody[-1]["to"] == "Defence expert"
    assert first.payload_files == second.payload_files and first.fingerprint != second.fingerprint
    log = [json.loads(ln) for ln in (bundle / "custody.jsonl").read_text().splitlines()]
    for entry in log[-2:]:  # each hand-over records the verification that preceded it
        assert entry["details"]["verification"]["result"] == "pass"
        assert "custody" in entry["details"]["verification"]["checks"]
    assert not verify_bundle(bundle, first.fingerprint).ok  # pinned to the wrong (earlier) key
    assert [w for w in result.warnings if "signing key changed" in w]  # the change of key is shown
    assert [k["fingerprint"] for k in result.info["signing_keys"]] == [first.fingerprint] * 2 + [second.fingerprint]


def test_handover_refuses_a_tampered_bundle(bundle: Path, signing_key) -> None:  # noqa: F811
    victim = next(p for p in sorted((bundle / "data").rglob("*")) if p.is_file() and p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:-1])
    before = (bundle / "custody.jsonl").read_bytes()
    with pytest.raises(NotVerified, match="payload-modified"):
        handover(bundle, signing_key, EXAMINER, "CPS", "x")
    assert (bundle / "custody.jsonl").read_bytes() == before


def test_reseal_refuses_every_change_without_a_reason(bundle: Path, signing_key) -> None:  # noqa: F811
    report = bundle / "data" / "report" / "report.html"
    report.parent.mkdir()
    report.write_text("<html>report</html>", "utf-8")
    with pytest.raises(BundleError, match="changed since it was sealed"):  # an addition too
        seal(bundle, signing_key, EXAMINER)
    res = seal(bundle, signing_key, EXAMINER, accept_changes="report added")
    assert res.changes == {"added": ["data/report/report.html"], "removed": [], "changed": []}
    assert verify_bundle(bundle).ok
    report.write_text("<html>edited</html>", "utf-8")
    with pytest.raises(BundleError, match="changed since it was sealed"):
        seal(bundle, signing_key, EXAMINER)
    res = seal(bundle, signing_key, EXAMINER, accept_changes="report regenerated after review")
    assert res.changes["changed"] == ["data/report/report.html"]
    result = verify_bundle(bundle)
    assert result.ok, result.failures
    last = read_chain(bundle / "custody.jsonl").entries[-1].entry
    assert last["details"]["seal"]["accepted_changes"] == {"reason": "report regenerated after review",
                                                           "files": ["data/report/report.html"]}
    assert [a["ref"] for a in last["outputs"] if a["role"] == "payload-changed"] == ["data/report/report.html"]


def test_appended_custody_entries_cannot_pre_approve_a_change(bundle: Path, signing_key) -> None:  # noqa: F811
    """Anyone who can write to the folder can append a well-chained entry naming the new hash of a file
    they changed; the re-seal must still ask for an explicit, recorded reason."""
    victim = bundle / "data" / "case.db"
    victim.write_bytes(victim.read_bytes() + b"planted")
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    CustodyLog(bundle / "custody.jsonl", EXAMINER, CASE, EXHIBIT).append(
        "extraction", outputs=[Artefact("case-database", "data/case.db", digest, victim.stat().st_size)])
    with pytest.raises(BundleError, match="changed since it was sealed.*data/case.db"):
        seal(bundle, signing_key, EXAMINER)
    res = seal(bundle, signing_key, EXAMINER, accept_changes="examined: case.db edit explained")
    assert res.changes["changed"] == ["data/case.db"]
    last = read_chain(bundle / "custody.jsonl").entries[-1].entry
    assert last["details"]["seal"]["accepted_changes"]["files"] == ["data/case.db"]


def test_second_extraction_into_a_sealed_bundle_needs_a_reason(bundle: Path, signing_key) -> None:  # noqa: F811
    run(ExtractOptions(source=primary_image(), out=bundle, case_ref=CASE, exhibit_ref=EXHIBIT,
                       examiner=EXAMINER.name, examiner_id=EXAMINER.id))
    assert "custody-appended" in verify_bundle(bundle).codes()
    with pytest.raises(BundleError, match="changed since it was sealed"):
        seal(bundle, signing_key, EXAMINER)
    res = seal(bundle, signing_key, EXAMINER, accept_changes="second run: widened scope")
    assert "data/case.db" in res.changes["changed"]
    result = verify_bundle(bundle)
    assert result.ok, result.failures
    assert [e["action"] for e in result.custody].count("extraction") == 2


def test_seal_refuses_damaged_logs_links_and_broken_history(out_dir: Path, signing_key) -> None:  # noqa: F811
    log = out_dir / "custody.jsonl"
    good = log.read_bytes()
    lines = good.split(b"\n")[:-1]
    log.write_bytes(b"".join(ln + b"\n" for ln in lines[:1] + lines[2:]))
    with pytest.raises(BundleError, match="custody log damaged"):
        seal(out_dir, signing_key, EXAMINER)
    log.write_bytes(good)
    os.symlink("/etc/passwd", out_dir / "data" / "link")
    with pytest.raises(BundleError, match="links"):
        seal(out_dir, signing_key, EXAMINER)
    (out_dir / "data" / "link").unlink()
    seal(out_dir, signing_key, EXAMINER)
    sealed_log = log.read_bytes()
    log.write_bytes(good)  # roll the log back to before the seal, then try to re-seal
    with pytest.raises(BundleError, match="no longer contains"):
        seal(out_dir, signing_key, EXAMINER)
    log.write_bytes(sealed_log)
    assert verify_bundle(out_dir).ok


def test_deterministic_zip_verifies_and_detects_tampering(bundle: Path, tmp_path: Path) -> None:  # noqa: F811
    z1, h1 = write_zip(bundle)
    z2, h2 = write_zip(bundle, tmp_path / "again.zip")
    assert h1 == h2 and z1.read_bytes() == z2.read_bytes()
    with zipfile.ZipFile(z1) as zf:
        names = zf.namelist()
        assert names == sorted(names) and all(n.startswith(bundle.name + "/") for n in names)
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    result = verify_bundle(z1)
    assert result.ok, result.failures
    with zipfile.ZipFile(z1) as zf:
        info = zf.getinfo(f"{bundle.name}/data/case.db")
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
    data = bytearray(z1.read_bytes())
    data[offset] ^= 0xFF
    z1.write_bytes(bytes(data))
    assert "payload-modified" in verify_bundle(z1).codes()


def test_cli_extract_seal_verify_end_to_end(tmp_path: Path) -> None:
    src = primary_image()
    key = tmp_path / "keys" / "examiner.pem"
    runner = CliRunner()
    env = {"DEVICEX_KEY": str(key), "DVX_PASS": "pass phrase"}
    res = runner.invoke(main, ["keys", "init", "--passphrase-env", "DVX_PASS"], env=env)
    assert res.exit_code == 0, res.output
    fp = res.output.split("SHA-256 fingerprint: ")[1].split()[0]
    out = tmp_path / "OUT"
    res = runner.invoke(main, ["extract", str(src), "-o", str(out), "--case", "C-9", "--exhibit", "E-9",
                               "--examiner", "CLI Examiner", "--full-extraction-reason", "suspect device", "-q",
                               "--seal", "--passphrase-env", "DVX_PASS"], env=env)
    assert res.exit_code == 0, res.output
    assert fp in res.output and (out / "seal-signature.ed25519").is_file()
    before = snapshot(out)
    res = runner.invoke(main, ["verify", str(out), "--key-fingerprint", fp])
    assert res.exit_code == 0, res.output
    assert "RESULT: PASS" in res.output and "matches --key-fingerprint" in res.output
    res = runner.invoke(main, ["verify", str(out), "--json"])
    doc = json.loads(res.output)
    assert res.exit_code == 0 and doc["result"] == "pass" and doc["key"]["fingerprint_sha256"] == fp
    assert snapshot(out) == before  # verify is read-only
    res = runner.invoke(main, ["verify", str(out), "--key-fingerprint", "0" * 64])
    assert res.exit_code == 5 and "key-fingerprint-mismatch" in res.output
    res = runner.invoke(main, ["verify", str(out), "--key-fingerprint", "nonsense"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(main, ["handover", str(out), "--to", "CPS", "--reason", "review", "--passphrase-env",
                               "DVX_PASS", "--examiner", "CLI Examiner"], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["seal", str(out), "--zip", "--passphrase-env", "DVX_PASS"], env=env)
    assert res.exit_code == 0 and (tmp_path / "OUT.zip").is_file(), res.output
    res = runner.invoke(main, ["verify", str(tmp_path / "OUT.zip"), "--json", "--key-fingerprint", fp])
    assert res.exit_code == 0, res.output
    assert [e["action"] for e in json.loads(res.output)["custody"]][-3:] == ["seal", "handover", "seal"]
    (out / "data" / "case.db").write_bytes(b"x")
    res = runner.invoke(main, ["verify", str(out)])
    assert res.exit_code == 5 and "RESULT: FAIL" in res.output and "[payload-modified] data/case.db" in res.output
    res = runner.invoke(main, ["handover", str(out), "--to", "CPS", "--reason", "x", "--passphrase-env", "DVX_PASS"],
                        env=env)
    assert res.exit_code == 5 and "fails verification" in res.output
    res = runner.invoke(main, ["verify", str(tmp_path / "missing")])
    assert res.exit_code == 2
