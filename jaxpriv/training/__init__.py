"""Jitted training: ``fit`` for one model, ``fit_many`` for K models at once."""

from jaxpriv.training._fit import History
from jaxpriv.training._fit import Hyper
from jaxpriv.training._fit import LOSSES
from jaxpriv.training._fit import OPTIMIZERS
from jaxpriv.training._fit import TrainConfig
from jaxpriv.training._fit import accuracy
from jaxpriv.training._fit import accuracy_many
from jaxpriv.training._fit import fit
from jaxpriv.training._fit import fit_many
from jaxpriv.training._fit import l2_penalty
from jaxpriv.training._fit import per_example_loss
from jaxpriv.training._fit import predict_proba
from jaxpriv.training._fit import random_order

__all__ = [
    "History",
    "Hyper",
    "LOSSES",
    "OPTIMIZERS",
    "TrainConfig",
    "accuracy",
    "accuracy_many",
    "fit",
    "fit_many",
    "l2_penalty",
    "per_example_loss",
    "predict_proba",
    "random_order",
]
