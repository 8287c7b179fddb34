"""Evasion attacks: FGSM, PGD (L-infinity, L2), Carlini-Wagner L2, black-box NES PGD.

Szegedy et al. (ICLR 2014), Goodfellow et al. (ICLR 2015), Madry et al.
(ICLR 2018), Carlini and Wagner (S&P 2017), Ilyas et al. (ICML 2018). Every
attack runs all inputs, all target labels and all epsilons of a sweep in one
compiled call.
"""

from jaxpriv.attacks.evasion._blackbox import NESConfig
from jaxpriv.attacks.evasion._blackbox import pgd_nes
from jaxpriv.attacks.evasion._common import EvasionData
from jaxpriv.attacks.evasion._common import EvasionResult
from jaxpriv.attacks.evasion._common import all_targets
from jaxpriv.attacks.evasion._common import summarize
from jaxpriv.attacks.evasion._cw import CWConfig
from jaxpriv.attacks.evasion._cw import carlini_wagner_l2
from jaxpriv.attacks.evasion._gradient import FGSMConfig
from jaxpriv.attacks.evasion._gradient import PGDConfig
from jaxpriv.attacks.evasion._gradient import fgsm
from jaxpriv.attacks.evasion._gradient import pgd

__all__ = [
    "CWConfig",
    "EvasionData",
    "EvasionResult",
    "FGSMConfig",
    "NESConfig",
    "PGDConfig",
    "all_targets",
    "carlini_wagner_l2",
    "fgsm",
    "pgd",
    "pgd_nes",
    "summarize",
]
