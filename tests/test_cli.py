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


def test_a_grid_that_starts_with_a_negative_number_is_a_value_not_an_option():
    import numpy as np

    from jaxpriv.experiments import cmd_sweep

    argv = ["sweep", "--logspace", "-4,0,3", "--values", "-1,2", "--seed", "-1"]
    assert cli._join_negative_lists(argv) == [
        "sweep", "--logspace=-4,0,3", "--values=-1,2", "--seed", "-1"]
    args = cli.build_parser().parse_args(cli._join_negative_lists(
        ["sweep", "--logspace", "-4,-2,3", "--out", "x"]))
    assert args.logspace == "-4,-2,3" and args.out == "x"
    assert np.allclose(cmd_sweep._grid(args), (1e-4, 1e-3, 1e-2), rtol=1e-12)
