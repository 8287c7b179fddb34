"""Secrets as bits: quantised images to bit strings and back (host side, NumPy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxpriv import _validate


def images_to_bits(images: Any, bits_per_pixel: int = 8) -> np.ndarray:
    """Quantises ``[0, 1]`` pixels to ``bits_per_pixel`` bits, most significant first.

    Args:
      images: float ``[m, d]`` in ``[0, 1]``.
      bits_per_pixel: bits per pixel, 1..16.

    Returns:
      uint8 ``[m * d * bits_per_pixel]`` of 0/1.
    """
    x = _validate.array("images", images, ndim=2, dtype_kind="fiu")
    _validate.in_range("bits_per_pixel", bits_per_pixel, 1, 16)
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"Expected images in [0, 1]; got values in [{x.min():g}, {x.max():g}].")
    levels = (1 << int(bits_per_pixel)) - 1
    q = np.rint(x.astype(np.float64) * levels).astype(np.int64)
    shifts = np.arange(bits_per_pixel - 1, -1, -1)
    return ((q[..., None] >> shifts) & 1).astype(np.uint8).reshape(-1)


def bits_to_images(bits: Any, num_images: int, num_pixels: int,
                   bits_per_pixel: int = 8) -> np.ndarray:
    """Inverse of :func:`images_to_bits`: float32 ``[num_images, num_pixels]`` in ``[0, 1]``."""
    b = np.asarray(bits).astype(np.int64).reshape(-1)
    need = num_images * num_pixels * bits_per_pixel
    if b.size < need:
        raise ValueError(f"Expected at least {need} bits for {num_images} images of {num_pixels}"
                         f" pixels at {bits_per_pixel} bits; got {b.size}.")
    b = b[:need].reshape(num_images, num_pixels, bits_per_pixel)
    q = (b << np.arange(bits_per_pixel - 1, -1, -1)).sum(-1)
    return (q / ((1 << bits_per_pixel) - 1)).astype(np.float32)


def bit_error_rate(bits: Any, truth: Any) -> float:
    """Share of bits that differ (Song et al., CCS 2017, §5)."""
    a, t = np.asarray(bits).reshape(-1), np.asarray(truth).reshape(-1)
    if a.shape != t.shape or a.size == 0:
        raise ValueError(f"Expected two non-empty bit strings of the same length; got {a.size}"
                         f" and {t.size}.")
    return float(np.mean(a.astype(bool) != t.astype(bool)))
