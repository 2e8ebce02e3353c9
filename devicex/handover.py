"""Handing a sealed bundle over: verified first, then a ``handover`` custody
entry (from, to, reason, and the verification done) recorded by a re-seal."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devicex.bagit import BundleError
from devicex.bundle import SealResult, seal
from devicex.custody import Actor
from devicex.verify import CHECKS, verify_bundle


class NotVerified(BundleError):
    """A hand-over was refused because the bundle fails verification."""


def handover(bundle: Path, key: Ed25519PrivateKey, actor: Actor, to: str, reason: str, *,
             from_: str | None = None, organisation: str | None = None) -> SealResult:
    """Verify the bundle, append a ``handover`` entry (from, to, reason) and re-seal."""
    if not bundle.is_dir():
        raise BundleError(f"{bundle}: hand-over needs the bundle folder (not a zip)")
    result = verify_bundle(bundle)
    if not result.ok:
        first = result.failures[0]
        raise NotVerified(f"{bundle}: fails verification ({len(result.failures)} reasons, first: "
                          f"[{first.code}] {first.message}); it cannot be handed over")
    details = {"from": from_ or actor.name, "to": to, "reason": reason,
               # the verification done before handing over is part of the record
               "verification": {"result": "pass", "checks": sorted(CHECKS),
                                "warnings": list(result.warnings)}}
    return seal(bundle, key, actor, organisation=organisation, action="handover", action_details=details,
                reuse_manifest=True)
