"""Attack and utility metrics (host side, NumPy)."""

from jaxpriv.metrics._metrics import Roc
from jaxpriv.metrics._metrics import accuracy
from jaxpriv.metrics._metrics import attacker_advantage
from jaxpriv.metrics._metrics import expected_calibration_error
from jaxpriv.metrics._metrics import fidelity
from jaxpriv.metrics._metrics import membership_report
from jaxpriv.metrics._metrics import precision
from jaxpriv.metrics._metrics import recall
from jaxpriv.metrics._metrics import roc_auc
from jaxpriv.metrics._metrics import roc_curve
from jaxpriv.metrics._metrics import tpr_at_fpr
from jaxpriv.metrics._image import mean_absolute_error
from jaxpriv.metrics._image import ssim

__all__ = [
    "Roc",
    "accuracy",
    "attacker_advantage",
    "expected_calibration_error",
    "fidelity",
    "mean_absolute_error",
    "membership_report",
    "precision",
    "recall",
    "roc_auc",
    "roc_curve",
    "ssim",
    "tpr_at_fpr",
]
