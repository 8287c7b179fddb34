"""A prediction-API server (FastAPI + uvicorn) over a saved target, with API
keys, per-key query counts, budgets, rate limits, a price per query,
request-size limits and output defences. Clients: ``jaxpriv.oracles.RemoteOracle``.
"""

from jaxpriv.serve._app import KeyPolicy
from jaxpriv.serve._app import ServeConfig
from jaxpriv.serve._app import Usage
from jaxpriv.serve._app import make_app
from jaxpriv.serve._app import oracle_for

__all__ = [
    "KeyPolicy",
    "ServeConfig",
    "Usage",
    "make_app",
    "oracle_for",
]
