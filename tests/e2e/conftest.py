"""What the browser tests share: Debian's chromium, driven by Playwright (skipped where not installed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless chromium for one test."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()
