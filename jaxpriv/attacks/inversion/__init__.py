"""Model inversion: MI-Face (white- and black-box) and MAP inversion of trees and
linear models (Fredrikson et al., USENIX Security 2014; CCS 2015)."""

from jaxpriv.attacks.inversion._map import InversionResult
from jaxpriv.attacks.inversion._map import LinearInversionConfig
from jaxpriv.attacks.inversion._map import LinearInversionData
from jaxpriv.attacks.inversion._map import TreeInversionConfig
from jaxpriv.attacks.inversion._map import TreeInversionData
from jaxpriv.attacks.inversion._map import confusion_matrix
from jaxpriv.attacks.inversion._map import ideal_baseline
from jaxpriv.attacks.inversion._map import invert_linear
from jaxpriv.attacks.inversion._map import invert_tree
from jaxpriv.attacks.inversion._map import marginal_prior
from jaxpriv.attacks.inversion._map import tree_inversion_baselines
from jaxpriv.attacks.inversion._mi_face import AuxTerm
from jaxpriv.attacks.inversion._mi_face import COSTS
from jaxpriv.attacks.inversion._mi_face import MIFaceConfig
from jaxpriv.attacks.inversion._mi_face import MIFaceResult
from jaxpriv.attacks.inversion._mi_face import PROCESSES
from jaxpriv.attacks.inversion._mi_face import Process
from jaxpriv.attacks.inversion._mi_face import STOP_REASONS
from jaxpriv.attacks.inversion._mi_face import clip_process
from jaxpriv.attacks.inversion._mi_face import dae_process
from jaxpriv.attacks.inversion._mi_face import identity_process
from jaxpriv.attacks.inversion._mi_face import l2_aux
from jaxpriv.attacks.inversion._mi_face import mi_face
from jaxpriv.attacks.inversion._mi_face import mi_face_blackbox
from jaxpriv.attacks.inversion._mi_face import tv_aux
from jaxpriv.attacks.inversion._studies import steak_study
from jaxpriv.attacks.inversion._studies import warfarin_study

__all__ = [
    "AuxTerm",
    "COSTS",
    "InversionResult",
    "LinearInversionConfig",
    "LinearInversionData",
    "MIFaceConfig",
    "MIFaceResult",
    "PROCESSES",
    "Process",
    "STOP_REASONS",
    "TreeInversionConfig",
    "TreeInversionData",
    "clip_process",
    "confusion_matrix",
    "dae_process",
    "ideal_baseline",
    "identity_process",
    "invert_linear",
    "invert_tree",
    "l2_aux",
    "marginal_prior",
    "mi_face",
    "mi_face_blackbox",
    "steak_study",
    "tree_inversion_baselines",
    "tv_aux",
    "warfarin_study",
]
