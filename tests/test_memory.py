"""The command's allocator setting (unweave.memory): big freed arrays are reused, not unmapped."""

import resource
import sys

import numpy as np
import pytest

from unweave.memory import reuse_freed_memory


def _faults_of_a_fresh_array(megabytes: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.empty(megabytes << 18, np.float32)  # 4 bytes each
    a.fill(1.0)  # touch every page
    del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_a_freed_big_array_is_reused_without_new_page_faults():
    """Unmapped on free, each 64 MB array faults its pages in anew (on this machine 544 faults
    with transparent huge pages, 16,384 with 4 KB pages); kept, the next one takes the last
    one's pages back with none."""
    if not reuse_freed_memory():
        pytest.skip("not glibc")
    _faults_of_a_fresh_array(64)  # the heap grows once
    assert _faults_of_a_fresh_array(64) < 32
