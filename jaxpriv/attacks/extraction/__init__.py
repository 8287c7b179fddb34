"""Model extraction through prediction APIs (Tramèr, Zhang, Juels, Reiter,
Ristenpart, "Stealing Machine Learning Models via Prediction APIs", USENIX
Security 2016): equation solving for logistic models, Newton's method for
softmax regression under rounding and for MLPs, path finding for decision
trees, label-only attacks, fidelity metrics, the rounding countermeasure and
extract-then-invert.

Every attack has the shape ``attack(key, oracle, domain, config) -> result``;
the oracle is the only access to the target and is charged every query.
"""

from jaxpriv.attacks.extraction._common import Domain
from jaxpriv.attacks.extraction._common import ExtractionResult
from jaxpriv.attacks.extraction._common import box_domain
from jaxpriv.attacks.extraction._common import data_domain
from jaxpriv.attacks.extraction._common import sparse_queries
from jaxpriv.attacks.extraction._common import uniform_queries
from jaxpriv.attacks.extraction._common import unit_domain
from jaxpriv.attacks.extraction._equations import LRConfig
from jaxpriv.attacks.extraction._equations import extract_binary_lr
from jaxpriv.attacks.extraction._equations import extract_lr
from jaxpriv.attacks.extraction._equations import linear_apply
from jaxpriv.attacks.extraction._equations import paper_unknowns
from jaxpriv.attacks.extraction._equations import unknowns_lr
from jaxpriv.attacks.extraction._label_only import LowdMeekConfig
from jaxpriv.attacks.extraction._label_only import RetrainConfig
from jaxpriv.attacks.extraction._label_only import STRATEGIES
from jaxpriv.attacks.extraction._label_only import extract_retrain
from jaxpriv.attacks.extraction._label_only import lowd_meek
from jaxpriv.attacks.extraction._newton import CURVATURES
from jaxpriv.attacks.extraction._newton import DISTRIBUTIONS
from jaxpriv.attacks.extraction._newton import LOSSES
from jaxpriv.attacks.extraction._newton import NewtonConfig
from jaxpriv.attacks.extraction._newton import extract_newton
from jaxpriv.attacks.extraction._newton import resolve_loss
from jaxpriv.attacks.extraction._newton import unknowns
from jaxpriv.attacks.extraction._report import PRICE_PER_QUERY
from jaxpriv.attacks.extraction._report import center_classes
from jaxpriv.attacks.extraction._report import extraction_report
from jaxpriv.attacks.extraction._report import max_param_error
from jaxpriv.attacks.extraction._studies import DECIMALS
from jaxpriv.attacks.extraction._studies import FACES_QUERIES
from jaxpriv.attacks.extraction._studies import extract_then_invert
from jaxpriv.attacks.extraction._studies import faces_config
from jaxpriv.attacks.extraction._studies import queries_needed
from jaxpriv.attacks.extraction._studies import rounding_sweep
from jaxpriv.attacks.extraction._tree import TreeConfig
from jaxpriv.attacks.extraction._tree import TreeExtraction
from jaxpriv.attacks.extraction._tree import extract_tree
from jaxpriv.attacks.extraction._tree import stolen_tree_apply
from jaxpriv.attacks.extraction._tree import tree_oracle

__all__ = [
    "CURVATURES",
    "DECIMALS",
    "DISTRIBUTIONS",
    "Domain",
    "ExtractionResult",
    "FACES_QUERIES",
    "LOSSES",
    "LRConfig",
    "LowdMeekConfig",
    "NewtonConfig",
    "PRICE_PER_QUERY",
    "RetrainConfig",
    "STRATEGIES",
    "TreeConfig",
    "TreeExtraction",
    "box_domain",
    "center_classes",
    "data_domain",
    "extract_binary_lr",
    "extract_lr",
    "extract_newton",
    "extract_retrain",
    "extract_then_invert",
    "extract_tree",
    "extraction_report",
    "faces_config",
    "linear_apply",
    "lowd_meek",
    "max_param_error",
    "paper_unknowns",
    "queries_needed",
    "resolve_loss",
    "rounding_sweep",
    "sparse_queries",
    "stolen_tree_apply",
    "tree_oracle",
    "uniform_queries",
    "unit_domain",
    "unknowns",
    "unknowns_lr",
]
