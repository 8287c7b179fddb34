"""Test-only attack families for ``jaxpriv run`` (no tests here; plugged in through ``extra_families``).

They log each call to ``$JAXPRIV_TEST_LOG`` and ``slow`` sleeps while
``$JAXPRIV_TEST_SLEEP`` is set, so a test can kill a run half-way.
"""

import os
import time

import jax
import numpy as np

from jaxpriv import metrics
from jaxpriv.report import image_grid


def _log(what):
    path = os.environ.get("JAXPRIV_TEST_LOG")
    if path:
        with open(path, "a") as f:
            f.write(what + "\n")
            f.flush()


def _scores(ctx, params):
    """Confidence in the true label of members and non-members (one compiled call)."""
    x = np.concatenate([ctx.members.x, ctx.nonmembers.x])
    y = np.concatenate([ctx.members.y, ctx.nonmembers.y])
    probs = np.asarray(jax.nn.softmax(jax.jit(ctx.apply_fn)(params, x), -1))
    conf = probs[np.arange(len(y)), y]
    return conf[:len(ctx.members)], conf[len(ctx.members):]


def fast(ctx):
    """A confidence-threshold membership attack with a ROC and a picture."""
    _log(f"fast {ctx.defense_name}")
    rows = []
    for target, params in (("undefended", ctx.params), ("defended", ctx.defended_params)):
        s_in, s_out = _scores(ctx, params)
        roc = metrics.roc_curve(s_in, s_out)
        rows.append({"family": "fake", "attack": "confidence", "target": target,
                     "auc": metrics.roc_auc(s_in, s_out),
                     "roc": {"fpr": np.asarray(roc.fpr).tolist(),
                             "tpr": np.asarray(roc.tpr).tolist()}})
    imgs = ctx.members.images()[:3]
    image_grid(ctx.out_dir / "examples.png", [("originals", imgs), ("again", imgs[::-1])],
               title="examples")
    rows[0]["images"] = [{"title": "member examples", "path": "examples.png"}]
    return rows


def slow(ctx):
    _log(f"slow-start {ctx.defense_name}")
    while os.environ.get("JAXPRIV_TEST_SLEEP"):
        time.sleep(0.2)
    _log(f"slow-end {ctx.defense_name}")
    return [{"attack": "nothing", "target": "defended", "fidelity": 0.5}]


def broken(ctx):
    _log(f"broken {ctx.defense_name}")
    raise RuntimeError("this family is broken")
