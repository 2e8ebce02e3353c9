"""Headless Chromium (Debian's package) driven by Playwright for Python,
with every console message, page error, dialog and request recorded.

Never downloads a browser: the system Chromium is launched by path. Chromium
and Playwright are installed by ``.ci/install --test``; when either is missing
the browser tests fail (never skip), so a missing install cannot pass silently.
"""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")


def _unavailable(reason: str) -> None:
    # .ci/install puts Chromium and Playwright on every test machine: missing is a failure, never a skip.
    pytest.fail(f"browser tests cannot run: {reason} (run: bash .ci/install --test)")


def chromium_path() -> str:
    for c in CANDIDATES:
        if os.path.exists(c):
            return c
    found = shutil.which("chromium")
    if not found:
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    return str(found)


@contextmanager
def launch() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    path = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a page did: console messages, errors, dialogs, requests."""

    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = [f"console {t}: {m}" for t, m in self.console if t in ("error", "warning", "assert")]
        out += [f"page error: {e}" for e in self.errors]
        out += [f"dialog: {d}" for d in self.dialogs]
        out += [f"non-file request: {u}" for u in self.requests if not u.startswith("file:")]
        return out


def open_page(browser: Any, url: str, viewport: tuple[int, int] = (1400, 900)) -> tuple[Any, Watch]:
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, java_script_enabled=True)
    page = ctx.new_page()
    w = Watch()
    page.on("console", lambda m: w.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: w.errors.append(str(e)))

    def on_dialog(d: Any) -> None:
        w.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: w.requests.append(r.url))
    page.goto(url)
    wait_until(page, "document.body.dataset.ready === '1' || document.body.dataset.ready === 'error'", 60)
    assert page.evaluate("document.body.dataset.ready") == "1", page.inner_text("#status")
    return page, w


def wait_until(page: Any, expression: str, timeout: float = 15) -> None:
    """Poll ``expression`` from outside the page (Playwright's wait_for_function
    evaluates strings inside the page, which the report's CSP rightly forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)


def shot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def url(report: Path, page: str) -> str:
    return (report / page).resolve().as_uri()
