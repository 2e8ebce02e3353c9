"""Where a validation ran: devicex and the libraries it reads with, the OS and the machine."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

from devicex import __version__
from devicex.sources.versions import library_versions
from devicex.timeutil import iso, now_utc


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=False, timeout=10)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=False, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    commit = proc.stdout.strip()
    return (commit + (" (with uncommitted changes)" if dirty else "")) if proc.returncode == 0 else "unknown"


def _libmagic() -> str:
    try:
        import magic

        version = int(magic.version())  # type: ignore[no-untyped-call]
        return f"{version // 100}.{version % 100:02d}"
    except (ImportError, AttributeError, OSError):
        return "unknown"


def describe() -> dict[str, str]:
    uname = platform.uname()
    return {
        "devicex": __version__, "devicex_commit": _git_commit(), "python": platform.python_version(),
        **library_versions(), "libmagic": _libmagic(), "python_magic": _package("python-magic"),
        "exifread": _package("exifread"), "os": platform.platform(), "machine": f"{uname.node} ({uname.machine}, "
        f"{uname.processor or 'cpu'})", "date": iso(now_utc()) or "",
    }
