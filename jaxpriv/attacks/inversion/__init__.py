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
from jaxpriv.attacks.inversion._faces import FACE_TARGETS
from jaxpriv.attacks.inversion._faces import FaceTarget
from jaxpriv.attacks.inversion._faces import FaceTargetConfig
from jaxpriv.attacks.inversion._faces import Identifier
from jaxpriv.attacks.inversion._faces import contrast_stretch
from jaxpriv.attacks.inversion._faces import evaluate_faces
from jaxpriv.attacks.inversion._faces import face_grid_png
from jaxpriv.attacks.inversion._faces import face_scores
from jaxpriv.attacks.inversion._faces import fit_identifier
from jaxpriv.attacks.inversion._faces import standardize_images
from jaxpriv.attacks.inversion._faces import train_face_targets
from jaxpriv.attacks.inversion._studies import face_split
from jaxpriv.attacks.inversion._studies import faces_study
from jaxpriv.attacks.inversion._studies import mi_face_config_for
from jaxpriv.attacks.inversion._studies import rounding_study
from jaxpriv.attacks.inversion._studies import steak_study
from jaxpriv.attacks.inversion._studies import warfarin_study

__all__ = [
    "AuxTerm",
    "clip_process",
    "confusion_matrix",
    "contrast_stretch",
    "COSTS",
    "dae_process",
    "evaluate_faces",
    "face_grid_png",
    "face_scores",
    "face_split",
    "FACE_TARGETS",
    "faces_study",
    "FaceTarget",
    "FaceTargetConfig",
    "fit_identifier",
    "ideal_baseline",
    "Identifier",
    "identity_process",
    "InversionResult",
    "invert_linear",
    "invert_tree",
    "l2_aux",
    "LinearInversionConfig",
    "LinearInversionData",
    "marginal_prior",
    "mi_face",
    "mi_face_blackbox",
    "mi_face_config_for",
    "MIFaceConfig",
    "MIFaceResult",
    "Process",
    "PROCESSES",
    "rounding_study",
    "standardize_images",
    "steak_study",
    "STOP_REASONS",
    "train_face_targets",
    "tree_inversion_baselines",
    "TreeInversionConfig",
    "TreeInversionData",
    "tv_aux",
    "warfarin_study",
]
