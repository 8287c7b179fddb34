"""Target models: Flax architectures and scikit-learn converters.

Every target reaches attacks as ``(apply_fn, params)`` with
``apply_fn(params, x[n, d]) -> logits[n, c]``.
"""

from jaxpriv.models._flax import ACTIVATIONS
from jaxpriv.models._flax import CNN
from jaxpriv.models._flax import DAEClassifier
from jaxpriv.models._flax import MLP
from jaxpriv.models._flax import MODELS
from jaxpriv.models._flax import Model
from jaxpriv.models._flax import SoftmaxRegression
from jaxpriv.models._flax import count_params
from jaxpriv.models._flax import dae_reconstruct_fn
from jaxpriv.models._flax import make_model
from jaxpriv.models._sklearn import TreeArrays
from jaxpriv.models._sklearn import from_sklearn_linear
from jaxpriv.models._sklearn import from_sklearn_logistic
from jaxpriv.models._sklearn import from_sklearn_tree
from jaxpriv.models._sklearn import tree_apply
from jaxpriv.models._sklearn import tree_leaf
from jaxpriv.models._sklearn import tree_predict_proba

__all__ = [
    "ACTIVATIONS",
    "CNN",
    "DAEClassifier",
    "MLP",
    "MODELS",
    "Model",
    "SoftmaxRegression",
    "TreeArrays",
    "count_params",
    "dae_reconstruct_fn",
    "from_sklearn_linear",
    "from_sklearn_logistic",
    "from_sklearn_tree",
    "make_model",
    "tree_apply",
    "tree_leaf",
    "tree_predict_proba",
]
