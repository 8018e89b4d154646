import numpy as np
import pytest
import scipy.ndimage as ndi

from unweave.filters import median_filter_1d


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (40, 90), (3, 200)])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 17, 31, 64])
@pytest.mark.parametrize("axis", [0, 1])
def test_equals_scipy_ndimage_reflect(shape, size, axis):
    x = np.random.default_rng(size).random(shape).astype(np.float32)
    footprint = [1, 1]
    footprint[axis] = size
    ours = median_filter_1d(x, size, axis=axis)
    if size > shape[axis]:
        # Windows longer than the axis reflect more than once; ndimage's extension then
        # differs from a repeated reflection. Both stay within the values of the line.
        assert np.all(ours >= x.min(axis=axis, keepdims=True))
        assert np.all(ours <= x.max(axis=axis, keepdims=True))
        return
    expected = ndi.median_filter(x, size=footprint, mode="reflect")
    np.testing.assert_array_equal(ours, expected)


def test_small_blocks_give_the_same_result():
    x = np.random.default_rng(0).random((37, 50))
    np.testing.assert_array_equal(median_filter_1d(x, 9, block_bytes=1),
                                  median_filter_1d(x, 9))
