"""PDF copies of the Word files, made by LibreOffice headless (Debian: libreoffice-writer-nogui)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from devicex.errors import DevicexError

TIMEOUT = 300


class PdfError(DevicexError):
    """LibreOffice is missing or could not convert a document."""


def soffice() -> str:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    raise PdfError("LibreOffice (soffice) is not installed: the Word files were written, the PDFs were not "
                   "(Debian: apt-get install libreoffice-writer-nogui)")


def convert(sources: Sequence[Path], to: str = "pdf") -> list[Path]:
    """Convert ``sources`` (in one LibreOffice start) into files of type ``to`` beside them."""
    if not sources:
        return []
    with tempfile.TemporaryDirectory(prefix="devicex-soffice-") as profile:
        # a private profile: parallel conversions (and a user's running LibreOffice) do not collide
        cmd = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", to, "--outdir", str(sources[0].parent), *map(str, sources)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"LibreOffice did not finish converting within {TIMEOUT} s") from None
    out = [p.with_suffix("." + to.split(":")[0]) for p in sources]
    missing = [p for p in out if not p.is_file()]
    if missing:
        raise PdfError(f"{missing[0]}: LibreOffice did not write it ({done.stderr.strip() or done.stdout.strip()})")
    return out
