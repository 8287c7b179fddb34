"""Membership inference: shadow models, Shokri's attack, synthesis, thresholds,
LiRA and label-only attacks.

Papers: Shokri, Stronati, Song, Shmatikov, "Membership Inference Attacks
Against Machine Learning Models" (IEEE S&P 2017); Carlini, Chien, Nasr, Song,
Terzis, Tramèr, "Membership Inference Attacks From First Principles" (IEEE
S&P 2022); Yeom et al. (CSF 2018); Song and Mittal (USENIX Security 2021);
Choquette-Choo et al. (ICML 2021).

Scores follow :mod:`jaxpriv.metrics`: higher means "more likely a member".
"""

from jaxpriv.attacks.membership._common import logit_confidence
from jaxpriv.attacks.membership._label_only import NOISES
from jaxpriv.attacks.membership._label_only import LabelOnlyResult
from jaxpriv.attacks.membership._label_only import PerturbationConfig
from jaxpriv.attacks.membership._label_only import gap_attack
from jaxpriv.attacks.membership._label_only import perturbation_attack
from jaxpriv.attacks.membership._lira import LiraConfig
from jaxpriv.attacks.membership._lira import LiraResult
from jaxpriv.attacks.membership._lira import lira_attack
from jaxpriv.attacks.membership._lira import lira_leave_one_out
from jaxpriv.attacks.membership._lira import lira_scores
from jaxpriv.attacks.membership._lira import pooled_in_out
from jaxpriv.attacks.membership._lira import shadow_phi
from jaxpriv.attacks.membership._paper import L2_CONVENTION
from jaxpriv.attacks.membership._paper import MITIGATIONS
from jaxpriv.attacks.membership._paper import LocationSetup
from jaxpriv.attacks.membership._paper import lira_location
from jaxpriv.attacks.membership._paper import mitigation_table
from jaxpriv.attacks.membership._paper import overfitting_sweep
from jaxpriv.attacks.membership._paper import shadow_data_sources
from jaxpriv.attacks.membership._paper import shokri_location
from jaxpriv.attacks.membership._plots import plot_roc
from jaxpriv.attacks.membership._shadow import SAMPLINGS
from jaxpriv.attacks.membership._shadow import ShadowConfig
from jaxpriv.attacks.membership._shadow import Shadows
from jaxpriv.attacks.membership._shadow import shadow_masks
from jaxpriv.attacks.membership._shadow import shadow_outputs
from jaxpriv.attacks.membership._shadow import train_shadows
from jaxpriv.attacks.membership._shokri import FEATURES
from jaxpriv.attacks.membership._shokri import AttackModels
from jaxpriv.attacks.membership._shokri import AttackSet
from jaxpriv.attacks.membership._shokri import ShokriConfig
from jaxpriv.attacks.membership._shokri import ShokriData
from jaxpriv.attacks.membership._shokri import ShokriResult
from jaxpriv.attacks.membership._shokri import attack_scores
from jaxpriv.attacks.membership._shokri import attack_set
from jaxpriv.attacks.membership._shokri import featurize
from jaxpriv.attacks.membership._shokri import shokri_attack
from jaxpriv.attacks.membership._shokri import train_attack_models
from jaxpriv.attacks.membership._synthesis import DOMAINS
from jaxpriv.attacks.membership._synthesis import SynthesisConfig
from jaxpriv.attacks.membership._synthesis import SynthesisResult
from jaxpriv.attacks.membership._synthesis import hill_climb_synthesis
from jaxpriv.attacks.membership._synthesis import marginal_synthesis
from jaxpriv.attacks.membership._synthesis import noisy_synthesis
from jaxpriv.attacks.membership._threshold import SCORES
from jaxpriv.attacks.membership._threshold import ThresholdConfig
from jaxpriv.attacks.membership._threshold import ThresholdResult
from jaxpriv.attacks.membership._threshold import best_threshold
from jaxpriv.attacks.membership._threshold import membership_scores
from jaxpriv.attacks.membership._threshold import threshold_attack

__all__ = [
    "AttackModels",
    "AttackSet",
    "DOMAINS",
    "FEATURES",
    "L2_CONVENTION",
    "LocationSetup",
    "MITIGATIONS",
    "LabelOnlyResult",
    "LiraConfig",
    "LiraResult",
    "NOISES",
    "PerturbationConfig",
    "SAMPLINGS",
    "SCORES",
    "ShadowConfig",
    "Shadows",
    "ShokriConfig",
    "ShokriData",
    "ShokriResult",
    "SynthesisConfig",
    "SynthesisResult",
    "ThresholdConfig",
    "ThresholdResult",
    "attack_scores",
    "attack_set",
    "best_threshold",
    "featurize",
    "gap_attack",
    "hill_climb_synthesis",
    "lira_attack",
    "lira_location",
    "lira_leave_one_out",
    "lira_scores",
    "logit_confidence",
    "marginal_synthesis",
    "membership_scores",
    "mitigation_table",
    "noisy_synthesis",
    "overfitting_sweep",
    "perturbation_attack",
    "plot_roc",
    "pooled_in_out",
    "shadow_data_sources",
    "shadow_masks",
    "shadow_outputs",
    "shadow_phi",
    "shokri_attack",
    "shokri_location",
    "threshold_attack",
    "train_attack_models",
    "train_shadows",
]
