"""jaxpriv: a JAX engine for attacking and defending the privacy of ML models."""

from jaxpriv import _rng
from jaxpriv._rng import use_unrolled_threefry

__version__ = "0.1.0"
__all__ = ["use_unrolled_threefry"]

# Opt-in (JAXPRIV_UNROLLED_THREEFRY=1): the same random bits from one fused
# kernel instead of a rolled loop on XLA:CPU (see jaxpriv._rng).
_rng.apply_env()
