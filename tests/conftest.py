"""Shared test setup: strict rank promotion and the shared-data fixture."""

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


def pytest_collection_modifyitems(config, items):
    if os.environ.get(DATA_ENV):
        return
    skip = pytest.mark.skip(reason=NO_DATA_REASON)
    for item in items:
        if "requires_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """The shared data directory from JAXPRIV_DATA; skips the test when it is unset."""
    value = os.environ.get(DATA_ENV)
    if not value:
        pytest.skip(NO_DATA_REASON)
    return pathlib.Path(value)
