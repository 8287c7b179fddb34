"""Image similarity metrics (host side, NumPy / SciPy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxpriv import _validate


def _images(name: str, value: Any) -> np.ndarray:
    arr = _validate.array(name, value, dtype_kind="fiub")
    if arr.ndim not in (2, 3):
        raise ValueError(f"Expected {name} with shape [height, width] or [n, height, width];"
                         f" got shape {arr.shape}.")
    return arr.astype(np.float64)


def ssim(a: Any, b: Any, *, data_range: float = 1.0, win_size: int = 7,
         k1: float = 0.01, k2: float = 0.03) -> np.ndarray | float:
    """Structural similarity (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 2004).

    Local means, variances and covariance over a uniform ``win_size`` x
    ``win_size`` window (sample covariance), averaged over the windows that fit
    inside the image: the defaults of ``skimage.metrics.structural_similarity``.
    The window shrinks to the largest odd size that fits small images (8x8
    digits use 7).

    Args:
      a, b: images ``[height, width]`` or batches ``[n, height, width]`` of the
        same shape.
      data_range: the value range of the pixels (1.0 for [0, 1] images).
      win_size: odd window size.
      k1, k2: the stabilising constants of the paper.

    Returns:
      A float for one pair, or float ``[n]`` for batches; 1 means identical.

    Example:
      >>> ssim(img, img)
      1.0
    """
    x, y = _images("a", a), _images("b", b)
    if x.shape != y.shape:
        raise ValueError(f"Expected a and b with the same shape; got {x.shape} and {y.shape}.")
    _validate.positive("data_range", data_range)
    single = x.ndim == 2
    if single:
        x, y = x[None], y[None]
    h, w = x.shape[1:]
    win = min(int(win_size), h, w)
    win -= 1 - win % 2
    if win < 1:
        raise ValueError(f"Expected images of at least 1x1 pixels; got {h}x{w}.")
    from scipy.ndimage import uniform_filter

    filt = lambda z: uniform_filter(z, size=(1, win, win), mode="reflect")
    npix = win * win
    cov_norm = npix / (npix - 1) if npix > 1 else 1.0
    ux, uy = filt(x), filt(y)
    vx = cov_norm * (filt(x * x) - ux * ux)
    vy = cov_norm * (filt(y * y) - uy * uy)
    vxy = cov_norm * (filt(x * y) - ux * uy)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    pad = (win - 1) // 2
    s = s[:, pad:h - pad, pad:w - pad].mean(axis=(1, 2))
    return float(s[0]) if single else s


def mean_absolute_error(a: Any, b: Any) -> np.ndarray | float:
    """Mean absolute pixel error per image (``[n]``, or a float for one image)."""
    x, y = _images("a", a), _images("b", b)
    if x.shape != y.shape:
        raise ValueError(f"Expected a and b with the same shape; got {x.shape} and {y.shape}.")
    err = np.abs(x - y).mean(axis=(-2, -1))
    return float(err) if x.ndim == 2 else err
