"""Versions of the image libraries the sources read with (for validation records)."""
from __future__ import annotations

from importlib import metadata


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def library_versions() -> dict[str, str]:
    """``tsk`` (pytsk3 and the TSK it bundles) and ``libewf`` (pyewf)."""
    try:
        import pytsk3

        tsk = f"pytsk3 {_package('pytsk3')}, TSK {pytsk3.TSK_VERSION_STR}"
    except ImportError:
        tsk = "not installed"
    try:
        import pyewf

        ewf = str(pyewf.get_version())
    except ImportError:
        ewf = "not installed"
    return {"tsk": tsk, "libewf": ewf}
