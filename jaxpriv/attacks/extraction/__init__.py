"""Model extraction (Tramèr, Zhang, Juels, Reiter, Ristenpart, USENIX Security 2016)."""

from jaxpriv.attacks.extraction._common import Domain
from jaxpriv.attacks.extraction._common import ExtractionResult
from jaxpriv.attacks.extraction._common import box_domain
from jaxpriv.attacks.extraction._common import data_domain
from jaxpriv.attacks.extraction._common import unit_domain
from jaxpriv.attacks.extraction._common import uniform_queries
from jaxpriv.attacks.extraction._equations import LRConfig
from jaxpriv.attacks.extraction._equations import extract_binary_lr
from jaxpriv.attacks.extraction._equations import extract_lr
from jaxpriv.attacks.extraction._equations import linear_apply
from jaxpriv.attacks.extraction._equations import paper_unknowns
from jaxpriv.attacks.extraction._equations import unknowns_lr
from jaxpriv.attacks.extraction._newton import CURVATURES
from jaxpriv.attacks.extraction._newton import NewtonConfig
from jaxpriv.attacks.extraction._newton import extract_newton
from jaxpriv.attacks.extraction._newton import unknowns
from jaxpriv.attacks.extraction._tree import TreeConfig
from jaxpriv.attacks.extraction._tree import TreeExtraction
from jaxpriv.attacks.extraction._tree import extract_tree
from jaxpriv.attacks.extraction._tree import stolen_tree_apply
from jaxpriv.attacks.extraction._tree import tree_oracle

__all__ = [
    "CURVATURES",
    "Domain",
    "ExtractionResult",
    "LRConfig",
    "NewtonConfig",
    "TreeConfig",
    "TreeExtraction",
    "box_domain",
    "data_domain",
    "extract_binary_lr",
    "extract_lr",
    "extract_newton",
    "extract_tree",
    "linear_apply",
    "paper_unknowns",
    "stolen_tree_apply",
    "tree_oracle",
    "uniform_queries",
    "unit_domain",
    "unknowns",
    "unknowns_lr",
]
