"""Black-box oracles with query counting, budgets and output defences."""

from jaxpriv.oracles._defenses import DEFENSES
from jaxpriv.oracles._defenses import Defense
from jaxpriv.oracles._defenses import KINDS
from jaxpriv.oracles._defenses import LABEL
from jaxpriv.oracles._defenses import LEAF
from jaxpriv.oracles._defenses import PROBABILITIES
from jaxpriv.oracles._defenses import TOPK
from jaxpriv.oracles._defenses import VALUE
from jaxpriv.oracles._defenses import gaussian_noise
from jaxpriv.oracles._defenses import label_only
from jaxpriv.oracles._defenses import parse_defense
from jaxpriv.oracles._defenses import reverse_sigmoid
from jaxpriv.oracles._defenses import round_outputs
from jaxpriv.oracles._defenses import temperature
from jaxpriv.oracles._defenses import top_k
from jaxpriv.oracles._oracle import AccessError
from jaxpriv.oracles._oracle import Oracle
from jaxpriv.oracles._oracle import QueryBudgetExceeded
from jaxpriv.oracles._remote import RemoteError
from jaxpriv.oracles._remote import RemoteOracle

__all__ = [
    "AccessError",
    "DEFENSES",
    "Defense",
    "KINDS",
    "LABEL",
    "LEAF",
    "Oracle",
    "PROBABILITIES",
    "QueryBudgetExceeded",
    "RemoteError",
    "RemoteOracle",
    "TOPK",
    "VALUE",
    "gaussian_noise",
    "label_only",
    "parse_defense",
    "reverse_sigmoid",
    "round_outputs",
    "temperature",
    "top_k",
]
