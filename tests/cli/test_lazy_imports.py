"""The command line loads only what a command needs: ``devicex verify`` (what a
recipient runs offline) and ``devicex.verify`` never import the image stack,
and starting the command line imports no command's code."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.base import COMMANDS
from tests.sealing_support import image, sealed

REPO = Path(__file__).resolve().parents[2]
IMAGE_STACK = ("pytsk3", "pyewf", "magic", "exifread", "PIL", "pipelines", "parsers")

# Runs the real command line in a fresh interpreter, then prints which modules it had imported.
_PROBE = """
import json, sys
from cli import main
try:
    main(sys.argv[1:], prog_name="devicex")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(*args: str) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    return result["code"], set(result["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in names)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy")
    return sealed(root, image("fat16.img"))


def test_verify_command_imports_no_image_library(bundle: Path) -> None:
    code, modules = _modules_after("verify", str(bundle))
    assert code == 0  # it really verified the bundle
    assert "devicex.verify" in modules
    assert _loaded(modules, IMAGE_STACK) == []


def test_verify_module_imports_no_image_library() -> None:
    code = ("import json, sys, devicex.verify, devicex.bundle, devicex.bundle_reader, devicex.handover\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert _loaded(set(json.loads(proc.stdout)), IMAGE_STACK) == []


def test_help_lists_every_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "devicex", "--help"], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=True)
    section = proc.stdout.split("Commands:")[1].split("\n\n")[0]
    listed = {ln.split()[0] for ln in section.splitlines() if ln.strip()}
    assert listed == set(COMMANDS)


def test_version_loads_no_command() -> None:
    code, modules = _modules_after("--version")
    assert code == 0
    assert not {m for m in modules if m.startswith("cli.") and m not in ("cli.base",)}
    assert _loaded(modules, IMAGE_STACK) == []


def test_each_command_loads_its_own_module_only() -> None:
    _, modules = _modules_after("scope", "--help")
    assert "cli.scope" in modules
    assert not {"cli.extract", "cli.bundle", "cli.report", "cli.info"} & modules
    assert _loaded(modules, IMAGE_STACK) == []
