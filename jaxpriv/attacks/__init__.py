"""Attacks: one verb per family, each ``attack(key, target, data, config) -> Result``.

``target`` is a white-box ``(apply_fn, params)`` or a black-box
:class:`jaxpriv.oracles.Oracle`. Each family lives in a subpackage
(``inversion``, ``extraction``, ``membership``, ``leakage``, ``evasion``) and
its public names are re-exported here.
"""

__all__: list[str] = []

# Each family appends its imports below (one block per family).

# inversion
from jaxpriv.attacks.inversion import AuxTerm, MIFaceConfig, MIFaceResult, Process  # noqa: E402
from jaxpriv.attacks.inversion import mi_face, mi_face_blackbox  # noqa: E402
from jaxpriv.attacks.inversion import (  # noqa: E402
    LinearInversionConfig, LinearInversionData, TreeInversionConfig, TreeInversionData,
    invert_linear, invert_tree)

__all__ += ["AuxTerm", "MIFaceConfig", "MIFaceResult", "Process", "mi_face", "mi_face_blackbox",
            "LinearInversionConfig", "LinearInversionData", "TreeInversionConfig",
            "TreeInversionData", "invert_linear", "invert_tree"]

# membership
from jaxpriv.attacks.membership import (  # noqa: E402
    LiraConfig, PerturbationConfig, ShadowConfig, ShokriConfig, ShokriData, SynthesisConfig,
    ThresholdConfig, gap_attack, hill_climb_synthesis, lira_attack, lira_leave_one_out,
    lira_scores, marginal_synthesis, noisy_synthesis, perturbation_attack, shokri_attack,
    threshold_attack, train_shadows)

__all__ += ["LiraConfig", "PerturbationConfig", "ShadowConfig", "ShokriConfig", "ShokriData",
            "SynthesisConfig", "ThresholdConfig", "gap_attack", "hill_climb_synthesis",
            "lira_attack", "lira_leave_one_out", "lira_scores", "marginal_synthesis",
            "noisy_synthesis", "perturbation_attack", "shokri_attack", "threshold_attack",
            "train_shadows"]

# leakage
from jaxpriv.attacks.leakage import (  # noqa: E402
    CapacityConfig, EncodingConfig, bit_error_rate, capacity_abuse_augment,
    capacity_abuse_recover, decode_secret, encode_secret)

__all__ += ["CapacityConfig", "EncodingConfig", "bit_error_rate", "capacity_abuse_augment",
            "capacity_abuse_recover", "decode_secret", "encode_secret"]

# evasion
from jaxpriv.attacks.evasion import (  # noqa: E402
    CWConfig, EvasionData, EvasionResult, FGSMConfig, NESConfig, PGDConfig, all_targets,
    carlini_wagner_l2, fgsm, pgd, pgd_nes)

__all__ += ["CWConfig", "EvasionData", "EvasionResult", "FGSMConfig", "NESConfig", "PGDConfig",
            "all_targets", "carlini_wagner_l2", "fgsm", "pgd", "pgd_nes"]

# extraction
from jaxpriv.attacks.extraction import (  # noqa: E402
    ExtractionResult, LRConfig, LowdMeekConfig, NewtonConfig, RetrainConfig, TreeConfig,
    TreeExtraction, extract_binary_lr, extract_lr, extract_newton, extract_retrain,
    extract_then_invert, extract_tree, extraction_report, lowd_meek, tree_oracle)

__all__ += ["ExtractionResult", "LRConfig", "LowdMeekConfig", "NewtonConfig", "RetrainConfig",
            "TreeConfig", "TreeExtraction", "extract_binary_lr", "extract_lr", "extract_newton",
            "extract_retrain", "extract_then_invert", "extract_tree", "extraction_report",
            "lowd_meek", "tree_oracle"]
