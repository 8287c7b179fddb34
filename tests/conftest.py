"""Shared test setup: strict rank promotion, the shared-data fixture, and what
changes off a CPU (full-precision matmuls; CPU-only tests skipped)."""

import os
import pathlib

import jax
import pytest

# Broadcasting between arrays of different rank is an error in tests.
jax.config.update("jax_numpy_rank_promotion", "raise")

DATA_ENV = "JAXPRIV_DATA"
NO_DATA_REASON = f"{DATA_ENV} is not set"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"requires_data: needs the shared data directory; skipped when {NO_DATA_REASON}.")
    config.addinivalue_line(
        "markers", "cpu_only: checks behaviour of the CPU backend alone (host-thread chunks, "
        "cache-sized groups, XLA:CPU lowerings); skipped on other backends.")


def pytest_collection_modifyitems(config, items):
    backend = jax.default_backend()
    no_data = pytest.mark.skip(reason=NO_DATA_REASON)
    not_cpu = pytest.mark.skip(reason=f"CPU-backend behaviour; the backend is {backend!r}")
    for item in items:
        if "requires_data" in item.keywords and not os.environ.get(DATA_ENV):
            item.add_marker(no_data)
        if "cpu_only" in item.keywords and backend != "cpu":
            item.add_marker(not_cpu)


@pytest.fixture(autouse=True, scope="session")
def _full_precision_matmuls_off_cpu():
    """On GPUs and TPUs JAX's default float32 matmuls round their inputs to
    TF32 or bfloat16 (~1e-3): the tests that check two code paths compute the
    same numbers, or that a converted model matches scikit-learn to 1e-5, then
    run their matmuls at full precision. On a CPU this changes nothing."""
    if jax.default_backend() == "cpu":
        yield
        return
    old = jax.config.jax_default_matmul_precision
    jax.config.update("jax_default_matmul_precision", "highest")
    yield
    jax.config.update("jax_default_matmul_precision", old)


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """The shared data directory from JAXPRIV_DATA; skips the test when it is unset."""
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(NO_DATA_REASON)
    return pathlib.Path(value)
