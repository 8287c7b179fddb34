import json
import subprocess
import sys

from jaxpriv import cli
from jaxpriv.results import to_jsonable


def test_help_lists_run(capsys):
    assert cli.main([]) == 0
    assert "run" in capsys.readouterr().out


def test_unknown_dataset_is_a_one_line_error_listing_the_known_ones(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jaxpriv.cli", "run", "--dataset", "nosuch",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "nosuch" in err[0] and "digits" in err[0] and "location" in err[0]


def test_to_jsonable_handles_arrays_tuples_and_nan():
    import jax.numpy as jnp
    import numpy as np
    from typing import NamedTuple

    class R(NamedTuple):
        a: object
        b: object

    out = to_jsonable(R(jnp.arange(3), {"x": np.float32(np.nan), "y": (1, np.int64(2))}))
    assert json.loads(json.dumps(out)) == {"a": [0, 1, 2], "b": {"x": "nan", "y": [1, 2]}}
