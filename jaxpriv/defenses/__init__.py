"""Training-time defences: DP-SGD, MID, sensitive-feature trees, watermarking.

* DP-SGD (Abadi et al., CCS 2016) with accounting by ``dp-accounting``.
* MID (Wang, Zhang, Jia, AAAI 2021): information-bottleneck network, linear
  regression and decision-tree variants, and the DP mutual-information bound.
* Trees with the sensitive feature at a forced depth (Fredrikson et al., CCS 2015).
* Watermarking by backdooring (Adi et al., USENIX Security 2018).
"""

from jaxpriv.defenses._dpsgd import ACCOUNTANTS
from jaxpriv.defenses._dpsgd import DPHyper
from jaxpriv.defenses._dpsgd import DPSGDConfig
from jaxpriv.defenses._dpsgd import calibrate_noise_multiplier
from jaxpriv.defenses._dpsgd import clip_and_sum
from jaxpriv.defenses._dpsgd import dp_epsilon
from jaxpriv.defenses._dpsgd import dp_event
from jaxpriv.defenses._dpsgd import dp_sgd
from jaxpriv.defenses._dpsgd import dp_sgd_many
from jaxpriv.defenses._dpsgd import run_epsilon
from jaxpriv.defenses._mid import MIDHyper
from jaxpriv.defenses._mid import MIDLinear
from jaxpriv.defenses._mid import MIDTree
from jaxpriv.defenses._mid import VIB
from jaxpriv.defenses._mid import dp_information_bound
from jaxpriv.defenses._mid import linear_information
from jaxpriv.defenses._mid import make_mid_model
from jaxpriv.defenses._mid import mid_encode
from jaxpriv.defenses._mid import mid_linear_regression
from jaxpriv.defenses._mid import mid_loss
from jaxpriv.defenses._mid import train_mid
from jaxpriv.defenses._mid import train_mid_many
from jaxpriv.defenses._trainer import SAMPLINGS
from jaxpriv.defenses._trainer import StepConfig
from jaxpriv.defenses._trainer import sample_batch
from jaxpriv.defenses._trainer import train_many
from jaxpriv.defenses._tree import SensitiveDepthTree
from jaxpriv.defenses._watermark import MarkConfig
from jaxpriv.defenses._watermark import MarkingKey
from jaxpriv.defenses._watermark import VerificationKey
from jaxpriv.defenses._watermark import VerifyResult
from jaxpriv.defenses._watermark import commit
from jaxpriv.defenses._watermark import keygen
from jaxpriv.defenses._watermark import mark
from jaxpriv.defenses._watermark import remove_by_finetuning
from jaxpriv.defenses._watermark import trigger_accuracy
from jaxpriv.defenses._watermark import verify

__all__ = [
    "ACCOUNTANTS",
    "DPHyper",
    "DPSGDConfig",
    "MIDHyper",
    "MIDLinear",
    "MIDTree",
    "MarkConfig",
    "MarkingKey",
    "SAMPLINGS",
    "SensitiveDepthTree",
    "StepConfig",
    "VIB",
    "VerificationKey",
    "VerifyResult",
    "calibrate_noise_multiplier",
    "clip_and_sum",
    "commit",
    "dp_epsilon",
    "dp_event",
    "dp_information_bound",
    "dp_sgd",
    "dp_sgd_many",
    "keygen",
    "linear_information",
    "make_mid_model",
    "mark",
    "mid_encode",
    "mid_linear_regression",
    "mid_loss",
    "remove_by_finetuning",
    "run_epsilon",
    "sample_batch",
    "train_many",
    "train_mid",
    "train_mid_many",
    "trigger_accuracy",
    "verify",
]
