"""Writes ``mid_vs_dp.ipynb`` (run: ``python notebooks/mid_vs_dp_make.py``).

MID versus DP-SGD privacy-utility comparison (Wang, Zhang, Jia, AAAI 2021).
Thin: the notebook calls ``jaxpriv.experiments.sweep`` and
``jaxpriv.defenses``; ``JAXPRIV_SMOKE=1`` shrinks every size (bundled digits).
"""

import nbformat

import _make  # notebooks/_make.py, next to this script

CELLS = [
    ("md", """# MID versus DP-SGD against model inversion (Wang, Zhang, Jia, AAAI 2021)

Wang, Zhang, Jia, *Improving Robustness to Model Inversion Attacks via Mutual Information
Regularization*, AAAI 2021. MID trains an information bottleneck (cross-entropy +
lambda * KL of the code) so the output carries little information about the input; DP-SGD
(Abadi et al., CCS 2016) bounds what the model reveals about each training record. The
paper's claim: for the same utility, MID lowers model-inversion success more than DP,
because DP's guarantee on the model's information about the *population* grows with the
training-set size n.

Each defence is one `jaxpriv sweep`: all settings of its hyperparameter train as one vmapped
program; every setting is attacked with MI-Face (identification by an independent evaluation
classifier) and with threshold membership inference. Full size: AT&T faces
(`JAXPRIV_DATA`); `JAXPRIV_SMOKE=1`: the bundled digits, tiny sizes."""),
    ("code", """import os
import numpy as np
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from jaxpriv import defenses
from jaxpriv.experiments import sweep

SMOKE = os.environ.get("JAXPRIV_SMOKE") == "1"
OUT = "results/mid_vs_dp" + ("_smoke" if SMOKE else "")
print("smoke =", SMOKE)

if SMOKE:
    mid_cfg = sweep.smoke_config(defense="mid", values=(0.0, 0.01, 0.1, 1.0))
    dp_cfg = sweep.smoke_config(defense="dp", values=(0.5, 2.0, 8.0), steps=40,
                                learning_rate=0.5, optimizer="sgd")
else:
    common = dict(dataset="att_faces", hidden=(128,), bottleneck=32, steps=300,
                  inversion_steps=100, progress=False)
    mid_cfg = sweep.SweepConfig(defense="mid", values=(0.0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
                                **common)
    dp_cfg = sweep.SweepConfig(defense="dp", values=(0.3, 0.6, 1.0, 2.0, 4.0, 8.0),
                               learning_rate=0.5, optimizer="sgd", **common)

def show(rows, cols):
    head = "| " + " | ".join(cols) + " |\\n|" + "---|" * len(cols) + "\\n"
    body = "\\n".join("| " + " | ".join(f"{r.get(c, ''):.4g}" if isinstance(r.get(c), float)
                                        else str(r.get(c, '')) for c in cols) + " |" for r in rows)
    display(Markdown(head + body))"""),
    ("md", """## MID: the lambda sweep

lambda = 0 is the undefended bottleneck network. The paper's Figure 3 shows attack accuracy
falling as lambda grows while test accuracy degrades slowly at first."""),
    ("code", """mid = sweep.run_sweep(mid_cfg, OUT + "/mid")
show(mid["rows"], ["value", "test_accuracy", "test_ece", "inversion_identification",
                   "membership_auc"])"""),
    ("md", """## DP-SGD: the noise-multiplier sweep

Per-example clipping (C = 1) and Gaussian noise; epsilon at delta = 1e-5 comes from
`dp-accounting` (RDP, Poisson sampling) for the run's steps and sampling rate."""),
    ("code", """dp = sweep.run_sweep(dp_cfg, OUT + "/dp")
show(dp["rows"], ["value", "epsilon", "test_accuracy", "test_ece", "inversion_identification",
                  "membership_auc"])"""),
    ("md", """## Privacy-utility: both defences on one plot

Lower-right is better (high accuracy, low attack success)."""),
    ("code", """fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for res, name, mark in ((mid, "MID", "o-"), (dp, "DP-SGD", "s-")):
    rows = res["rows"]
    acc = [r["test_accuracy"] for r in rows]
    axes[0].plot([r["inversion_identification"] for r in rows], acc, mark, label=name)
    axes[1].plot([r["membership_auc"] for r in rows], acc, mark, label=name)
axes[0].set_xlabel("MI-Face identification"); axes[1].set_xlabel("membership AUC (loss)")
for ax in axes:
    ax.set_ylabel("test accuracy"); ax.legend()
fig.suptitle("MID vs DP-SGD"); fig.tight_layout()
fig.savefig(OUT + "/mid_vs_dp.png", dpi=110); plt.show()"""),
    ("md", """## DP's information bound grows with n

For an (epsilon, delta)-DP learner, the information its output carries about the n training
records is bounded by n times a per-record term (the paper's argument, via Cuff and Yu, CCS
2016): at a fixed epsilon the bound grows linearly in n, so DP alone says little about
inversion of population-level features such as a person's face. Below, the bound for the
epsilons of the DP sweep."""),
    ("code", """n = np.logspace(2, 5, 20)
fig, ax = plt.subplots(figsize=(5, 3.5))
for r in dp["rows"]:
    ax.loglog(n, defenses.dp_information_bound(r["epsilon"], 1e-5, n, domain_size=256),
              label=f"eps={r['epsilon']:.2g}")
ax.set_xlabel("training records n"); ax.set_ylabel("bound on I(data; model) [bits]")
ax.legend(fontsize=7); fig.tight_layout(); plt.show()
sigma = defenses.calibrate_noise_multiplier(target_epsilon=8.0, steps=dp_cfg.steps,
                                            num_examples=1000,
                                            batch_size=dp_cfg.batch_size, delta=1e-5)
print(f"noise multiplier for epsilon = 8 at n = 1000: {sigma:.3f}")"""),
]


def build() -> nbformat.NotebookNode:
    return _make.build(CELLS)


if __name__ == "__main__":
    _make.write(build(), __file__, "mid_vs_dp.ipynb")
