"""jaxpriv: a JAX engine for attacking and defending the privacy of ML models."""

__version__ = "0.1.0"
