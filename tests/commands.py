"""The operator's ``cluetrail`` commands, run against a test stack as an operator runs them."""

from __future__ import annotations

import subprocess
import sys

from tests.harness import ROOT, Stack


def cluetrail(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an operator command against the test stack, with a wide console so lines are not wrapped."""
    return subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", *args],
        env={**stack.env, "COLUMNS": "250"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
