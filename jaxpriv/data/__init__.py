"""Data loaders and member / non-member splits.

Every loader returns a ``Dataset`` (float32 ``x [n, d]``, int32 ``y [n]`` and
feature metadata). ``digits`` is bundled with scikit-learn; the other data sets
are read from the user's data directory (``data_dir=`` or ``JAXPRIV_DATA``).
"""

from jaxpriv.data._dataset import Dataset
from jaxpriv.data._dataset import Split
from jaxpriv.data._dataset import split
from jaxpriv.data._loaders import DATASETS
from jaxpriv.data._loaders import WarfarinDesign
from jaxpriv.data._loaders import load
from jaxpriv.data._loaders import load_att_faces
from jaxpriv.data._loaders import load_digits
from jaxpriv.data._loaders import load_location
from jaxpriv.data._loaders import load_steak_survey
from jaxpriv.data._loaders import load_warfarin
from jaxpriv.data._loaders import warfarin_design_matrix
from jaxpriv.data._paths import data_dir
from jaxpriv.data._paths import find_file

__all__ = (
    "DATASETS",
    "Dataset",
    "Split",
    "WarfarinDesign",
    "data_dir",
    "find_file",
    "load",
    "load_att_faces",
    "load_digits",
    "load_location",
    "load_steak_survey",
    "load_warfarin",
    "split",
    "warfarin_design_matrix",
)
