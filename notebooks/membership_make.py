"""Writes ``membership_location.ipynb`` (run: ``python notebooks/membership_make.py``).

The notebook reproduces Shokri et al. (S&P 2017) and Carlini et al. (S&P 2022)
on the Location data; it is thin (calls ``jaxpriv.attacks.membership``) and
shrinks every size when ``JAXPRIV_SMOKE=1``.
"""

import nbformat

import _make  # notebooks/_make.py, next to this script

CELLS = [
    ("md", """# Membership inference on Location (Shokri et al. 2017; Carlini et al. 2022)

Shokri, Stronati, Song, Shmatikov, *Membership Inference Attacks Against Machine Learning
Models*, IEEE S&P 2017; Carlini, Chien, Nasr, Song, Terzis, Tramèr, *Membership Inference
Attacks From First Principles*, IEEE S&P 2022.

The target is an MLP (one hidden layer of 128 tanh units) trained on 1,600 Location records;
the attacker scores the 1,600 members and 1,600 non-members and trains its shadow models on
the remaining records with the same recipe. Set `JAXPRIV_SMOKE=1` for tiny sizes (CI) and
`JAXPRIV_DATA` to the shared data folder."""),
    ("code", """import os
import jax
import numpy as np
import matplotlib.pyplot as plt
from jaxpriv import data
from jaxpriv.attacks import membership as mia
from jaxpriv.report import rows_table
from IPython.display import Markdown, display

SMOKE = os.environ.get("JAXPRIV_SMOKE") == "1"
setup = mia.LocationSetup.smoke() if SMOKE else mia.LocationSetup()
ds = data.load("location")
key = jax.random.key(0)
print(len(ds), "records,", ds.num_features, "features,", ds.num_classes, "classes; smoke =", SMOKE)

def show(rows, cols):
    display(Markdown(rows_table([{c: r[c] for c in cols if c in r} for r in rows])))"""),
    ("md", """## Precision against targets that overfit more and more

More epochs on the same 1,600 records widen the train-test gap; the shadow models are trained
the same way. The paper reports precision 0.678 on Location."""),
    ("code", """epochs = (15,) if SMOKE else (2, 5, 15, 40, 100)
sweep = mia.overfitting_sweep(key, ds, setup, epochs)
show(sweep, ["epochs", "train_accuracy", "test_accuracy", "gap", "precision", "recall", "auc"])
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot([r["gap"] for r in sweep], [r["precision"] for r in sweep], "o-")
ax.set_xlabel("train - test accuracy"); ax.set_ylabel("attack precision")
ax.set_title("Shokri attack vs overfitting"); plt.show()"""),
    ("md", """## The mitigation table

Output defences go through the target's oracle (the attacker applies the same defence to its
shadow models' outputs); L2 retrains target and shadow models with the penalty. L2 convention:
a loss penalty `l2/2 * sum(w**2)` over kernels added to the mean minibatch loss (not
decoupled weight decay)."""),
    ("code", """smoke_rows = ("no mitigation", "top-1", "label only")
mitigations = [m for m in mia.MITIGATIONS if not SMOKE or m[0] in smoke_rows]
table = mia.mitigation_table(key, ds, setup, mitigations)
show(table, ["mitigation", "train_accuracy", "test_accuracy", "precision", "recall", "auc"])
print(mia.L2_CONVENTION)"""),
    ("md", """## Shadow data: real, marginal statistics, noisy, model-based synthesis

Hill climbing (the paper's Algorithm 1) runs for all records at once in one compiled loop and
reports the queries it spent."""),
    ("code", """sources = mia.shadow_data_sources(key, ds, setup, n_synthetic=200 if SMOKE else 1500)
show(sources, ["shadow_data", "shadow_records", "synthesis_queries", "synthesis_success",
               "precision", "recall", "auc"])"""),
    ("md", """## LiRA with many shadow models versus a global threshold

Each record is in half of the shadow models; several shadow models are taken in turn as the
target (leave-one-out), so the pooled evaluation has enough non-members for 0.1% FPR to mean
more than one false positive. With few shadows, per-example variances collapse: compare the
fixed-variance variants."""),
    ("code", """lira = mia.lira_location(key, ds, num_shadows=4 if SMOKE else 64,
                         num_targets=4 if SMOKE else 8, n_pool=400 if SMOKE else 3200,
                         hidden=setup.hidden, epochs=5 if SMOKE else 30, progress=not SMOKE)
show(lira["rows"], ["attack", "num_shadows", "auc", "tpr_at_0.1%_fpr", "tpr_at_1%_fpr", "n_out"])
path = mia.plot_roc(lira["curves"], "membership_lira_roc.png", title="LiRA vs global threshold")
from IPython.display import Image
display(Image(filename=str(path)))"""),
]


def build() -> nbformat.NotebookNode:
    return _make.build(CELLS)


if __name__ == "__main__":
    _make.write(build(), __file__, "membership_location.ipynb")
