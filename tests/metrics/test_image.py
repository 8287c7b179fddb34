"""SSIM and mean absolute pixel error (jaxpriv/metrics/_image.py)."""

import numpy as np
import pytest

from jaxpriv import metrics


def test_ssim_is_one_for_identical_images_symmetric_and_drops_with_noise():
    rng = np.random.default_rng(0)
    a = rng.random((3, 8, 8))
    np.testing.assert_allclose(metrics.ssim(a, a), 1.0)
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    c = np.clip(a + 0.3 * rng.standard_normal(a.shape), 0, 1)
    np.testing.assert_allclose(metrics.ssim(a, b), metrics.ssim(b, a))
    assert np.all(metrics.ssim(a, b) > metrics.ssim(a, c))
    assert np.all(metrics.ssim(a, 1 - a) < 0)
    assert isinstance(metrics.ssim(a[0], b[0]), float)


def test_ssim_matches_the_formula_on_one_window():
    # A 7x7 image holds exactly one full window: the SSIM of the paper with sample statistics.
    rng = np.random.default_rng(1)
    x, y = rng.random((7, 7)), rng.random((7, 7))
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(ddof=1), y.var(ddof=1)
    cxy = ((x - mx) * (y - my)).sum() / 48
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    want = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    assert metrics.ssim(x, y) == pytest.approx(want, rel=1e-9)


def test_mean_absolute_error_and_bad_shapes():
    a = np.zeros((2, 4, 4))
    np.testing.assert_allclose(metrics.mean_absolute_error(a, a + 0.25), [0.25, 0.25])
    with pytest.raises(ValueError, match="same shape"):
        metrics.ssim(a, a[:1])
    with pytest.raises(ValueError, match="height, width"):
        metrics.ssim(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="data_range"):
        metrics.ssim(a, a, data_range=0)
