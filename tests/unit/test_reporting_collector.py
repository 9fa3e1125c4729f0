"""While builds run, the garbage collector's full passes are spaced out, and the thresholds come back when
the last build ends, however builds overlap."""

from __future__ import annotations

import gc

import pytest

from services.reporting.adapters.builder import _CollectorPacing


def test_a_build_spaces_out_full_passes_and_restores_the_thresholds() -> None:
    pacing = _CollectorPacing()
    before = gc.get_threshold()
    with pacing.during_build():
        assert gc.get_threshold() == (before[0], before[1], _CollectorPacing.FULL_PASS_AFTER)
    assert gc.get_threshold() == before


def test_overlapping_builds_restore_the_thresholds_when_the_last_one_ends() -> None:
    pacing = _CollectorPacing()
    before = gc.get_threshold()
    startup_replacement = pacing.during_build()
    as_of_build = pacing.during_build()
    startup_replacement.__enter__()
    as_of_build.__enter__()
    startup_replacement.__exit__(None, None, None)  # ends first
    assert gc.get_threshold()[2] == _CollectorPacing.FULL_PASS_AFTER
    as_of_build.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_failed_build_restores_the_thresholds() -> None:
    pacing = _CollectorPacing()
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), pacing.during_build():
        raise RuntimeError("the log is unreachable")
    assert gc.get_threshold() == before
