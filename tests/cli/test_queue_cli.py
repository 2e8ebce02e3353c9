"""``devicex queue status`` and ``cancel`` (run on any desk to see the queue) load neither the image
libraries nor the extraction code; ``queue submit`` shares extract's options."""
from __future__ import annotations

import subprocess
import sys

from cli.extract import extract
from cli.queue_submit import submit_command
from tests.cli.test_lazy_imports import REPO, _loaded, _modules_after


def test_queue_status_imports_no_image_library() -> None:
    code, modules = _modules_after("queue", "status", "--help")
    assert code == 0
    assert "cli.queue" in modules and "cli.queue_submit" not in modules
    assert _loaded(modules, ("pytsk3", "pyewf", "magic", "exifread", "PIL", "parsers")) == []
    assert "pipelines.extract" not in modules


def test_submit_takes_every_extract_option_but_quiet_dry_run_and_validation() -> None:
    # --validation (the validation record a run is under) is not carried by queued jobs: not offered
    extract_options = {p.name for p in extract.params} - {"quiet", "dry_run", "validation"}
    submit_options = {p.name for p in submit_command.params}
    assert extract_options <= submit_options
    assert submit_options - extract_options == {"priority", "config_file", "broker"}


def test_worker_help_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "devicex", "worker", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=True)
    assert "--concurrency" in proc.stdout
