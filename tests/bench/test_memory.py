"""Peak RSS growth during a block: a known allocation must show up, an empty block must not."""

import numpy as np
import pytest

from reelrec.bench import PeakRSS


def test_allocation_inside_the_block_is_measured():
    with PeakRSS(interval=0.005) as mem:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
        block.sum()
        del block
    # Freed before exit: only the peak (high-water mark or a sample) can have seen it.
    assert mem.peak_mib >= 56
    assert mem.method


def test_empty_block_reports_little():
    with PeakRSS() as mem:
        pass
    assert 0 <= mem.peak_mib < 16


def test_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval=0"):
        PeakRSS(interval=0)
