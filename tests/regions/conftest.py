"""The two regions, started once for the tests of this folder (see ``cluster.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.regions.cluster import TwoRegions, two_regions


@pytest.fixture(scope="package")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRegions]:
    with two_regions(tmp_path_factory.mktemp("regions")) as running:
        yield running
