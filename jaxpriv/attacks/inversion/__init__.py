"""Model inversion: MI-Face (white- and black-box) and MAP inversion of trees and
linear models (Fredrikson et al., USENIX Security 2014; CCS 2015)."""

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

__all__ = [
    "AuxTerm",
    "COSTS",
    "MIFaceConfig",
    "MIFaceResult",
    "PROCESSES",
    "Process",
    "STOP_REASONS",
    "clip_process",
    "dae_process",
    "identity_process",
    "l2_aux",
    "mi_face",
    "mi_face_blackbox",
    "tv_aux",
]
