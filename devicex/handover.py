"""Handing a sealed bundle over: verified first, pinned to the key that sealed it
(the examiner's own, or the previous signer's fingerprint as they stated it),
then a ``handover`` custody entry (from, to, reason, and the verification done,
with the key pinned) recorded by a re-seal."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex.bagit import BundleError
from devicex.bundle import SealResult, seal
from devicex.custody import Actor
from devicex.keys import fingerprint
from devicex.verify import CHECKS, verify_bundle


class NotVerified(BundleError):
    """A hand-over was refused because the bundle fails verification."""


def handover(bundle: Path, key: Ed25519PrivateKey, actor: Actor, to: str, reason: str, *,
             from_: str | None = None, organisation: str | None = None,
             previous_fingerprint: str | None = None) -> SealResult:
    """Verify the bundle pinned to the key that sealed it (``previous_fingerprint``, by default the
    examiner's own), append a ``handover`` entry (from, to, reason) and re-seal."""
    if not bundle.is_dir():
        raise BundleError(f"{bundle}: hand-over needs the bundle folder (not a zip)")
    pinned = previous_fingerprint or fingerprint(key.public_key())
    result = verify_bundle(bundle, pinned)
    if not result.ok:
        first = result.failures[0]
        hint = "" if previous_fingerprint or first.code != "key-fingerprint-mismatch" else \
            "; another examiner's bundle needs their fingerprint (--previous-key-fingerprint)"
        raise NotVerified(f"{bundle}: fails verification ({len(result.failures)} reasons, first: "
                          f"[{first.code}] {first.message}){hint}; it cannot be handed over")
    details = {"from": from_ or actor.name, "to": to, "reason": reason,
               # the verification done before handing over is part of the record
               "verification": {"result": "pass", "checks": sorted(CHECKS), "key_fingerprint_pinned": pinned,
                                "warnings": list(result.warnings)}}
    return seal(bundle, key, actor, organisation=organisation, action="handover", action_details=details,
                reuse_manifest=True, previous_fingerprint=pinned)
