import numpy as np
import pytest

from jaxpriv.attacks import membership as mia


def test_plot_roc_writes_png(tmp_path):
    rng = np.random.default_rng(0)
    path = mia.plot_roc({"a": (rng.normal(1, 1, 500), rng.normal(0, 1, 500)),
                         "b": (rng.normal(0, 1, 500), rng.normal(0, 1, 500))},
                        tmp_path / "sub" / "roc.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="at least one curve"):
        mia.plot_roc({}, tmp_path / "x.png")
