"""Writes ``mi_face.ipynb`` (run: ``python notebooks/mi_face_make.py``).

The notebook reproduces Fredrikson, Jha, Ristenpart (CCS 2015): MI-Face on the
AT&T faces for the softmax, MLP and DAE targets, the rounding countermeasure,
and the decision-tree table on the steak survey (with the sensitive-feature
placement countermeasure); and Fredrikson et al. (USENIX Security 2014): the
linear-model inversion of VKORC1 from a warfarin dose model. It is thin (calls
``jaxpriv.attacks.inversion``) and shrinks every size when ``JAXPRIV_SMOKE=1``.
"""

import nbformat

import _make  # notebooks/_make.py, next to this script

CELLS = [
    ("md", """# Model inversion (Fredrikson, Jha, Ristenpart, CCS 2015; Fredrikson et al., USENIX Security 2014)

*Model Inversion Attacks that Exploit Confidence Information and Basic Countermeasures*, CCS 2015;
*Privacy in Pharmacogenetics: An End-to-End Case Study of Personalized Warfarin Dosing*, USENIX
Security 2014.

* **MI-Face** (Algorithm 1) on the AT&T faces: all 40 people of a target in **one compiled call**
  (a `vmap` over labels inside one `lax.while_loop`, each label stopping by its own rule), for the
  softmax, MLP (3000 sigmoid units) and DAE targets. An independent classifier trained on each
  person's *other* images names the person in each reconstruction.
* The **rounding** countermeasure against black-box MI-Face.
* **Decision-tree inversion** on FiveThirtyEight's steak survey (white-box, black-box, random,
  always-"No", ideal), averaged over random member / non-member splits, and the **sensitive feature
  at the top or bottom** of the tree.
* **Linear-model inversion** of the VKORC1 genotype from a warfarin dose model.

Set `JAXPRIV_DATA` to the shared data folder, and `JAXPRIV_SMOKE=1` for tiny sizes (CI)."""),
    ("code", """import os
import jax
import numpy as np
from IPython.display import Image, Markdown, display
from jaxpriv import data
from jaxpriv.attacks import inversion as inv
from jaxpriv.attacks import MIFaceConfig

SMOKE = os.environ.get("JAXPRIV_SMOKE") == "1"
key = jax.random.key(0)
print("smoke =", SMOKE)

def show(rows, cols, fmt="{:.3f}"):
    head = "| " + " | ".join(cols) + " |\\n|" + "---|" * len(cols) + "\\n"
    body = "".join("| " + " | ".join(fmt.format(r[c]) if isinstance(r.get(c), float) else str(r.get(c, ""))
                                     for c in cols) + " |\\n" for r in rows)
    display(Markdown(head + body))"""),
    ("md", """## MI-Face on the AT&T faces

Images 1-7 of each person train the targets; images 8-10 train the independent identifiers (softmax
regression), one on standardised images (zero mean, unit variance per image: reconstructions come
out dark, on another intensity scale than photos) and one on raw pixels. MSE and SSIM compare the
contrast-stretched reconstruction with the person's held-out images. The paper's alpha, beta, gamma
are 5000, 100, 0.99; gamma is the confidence to reach. `process="clip"` keeps pixels in [0, 1]
(dark masks from a black start); the unclipped variant, contrast-stretched for display, looks like
the paper's faces."""),
    ("code", """faces = data.load("att_faces")
study = inv.faces_study(key, faces, smoke=SMOKE, unclipped=not SMOKE, png="mi_face_grid.png")
show(study["rows"], ["target", "process", "cost", "alpha", "target_test_accuracy", "mean_confidence",
                     "mean_iterations", "identified_standardized", "identified_raw", "mse", "ssim",
                     "seconds_with_compile"])
display(Image("mi_face_grid.png"))"""),
    ("md", """## Countermeasure: rounding the confidences (black-box MI-Face)

The black-box attack estimates each gradient from oracle queries (antithetic Gaussian directions);
the oracle rounds its confidences to a number of decimals. The reconstructions are judged as above;
`true_confidence` is the unrounded confidence of the target in each reconstruction."""),
    ("code", """softmax = study["targets"]["softmax"]
ev = study["evaluator_index"]
bb = MIFaceConfig(num_features=faces.num_features, alpha=3 if SMOKE else 200, beta=50,
                  learning_rate=1.0, process="none", num_directions=4 if SMOKE else 64, sigma=0.05)
decimals = (None, 1) if SMOKE else (None, 5, 4, 3, 2, 1)
rounding = inv.rounding_study(key, (softmax.model.apply, softmax.params), np.arange(faces.num_classes),
                              bb, study["identifiers"], decimals=decimals, images=faces.x[ev],
                              image_labels=faces.y[ev], image_shape=faces.image_shape)
show(rounding, ["oracle", "true_confidence", "identified_standardized", "identified_raw", "ssim",
                "mean_iterations", "queries"])"""),
    ("md", """## Decision-tree inversion on the steak survey

Paper (FiveThirtyEight, acc / prec / rec %): white-box 86.4 / 100 / 21.1, black-box 85.8 / 85.7 / 21.1,
random 50 / 50 / 50, baseline (always "No") 82.9 / 0 / 0, ideal 99.8 / 100 / 98.6; white-box
precision is 100% on training-set members and much lower on non-members. The main columns are on
members (half of the rows, random split; averaged over the splits)."""),
    ("code", """steak = data.load("steak_survey")
splits = 1 if SMOKE else 10
cols = ["attack", "accuracy", "precision", "recall", "nonmember_accuracy", "nonmember_precision"]
full = inv.steak_study(key, steak, num_splits=splits)
print("full-depth tree; target test accuracy", round(full["target_test_accuracy"], 3))
show(full["rows"], cols)
if not SMOKE:  # (skipped at smoke size to keep CI short)
    capped = inv.steak_study(key, steak, num_splits=splits, max_depth=10)
    print("depth cap 10")
    show(capped["rows"], cols)"""),
    ("md", """### Countermeasure: the sensitive feature at the top or the bottom of the tree

Trees trained with `jaxpriv.defenses.SensitiveDepthTree` split on the sensitive answer at the root or
at the last level (depth cap 10)."""),
    ("code", """place = []
for placement in (("bottom",) if SMOKE else ("top", "bottom")):
    r = inv.steak_study(key, steak, num_splits=splits, max_depth=10, placement=placement)
    for row in r["rows"][:2]:
        place.append({"placement": placement, "target_test_accuracy": r["target_test_accuracy"], **row})
show(place, ["placement", "attack", "target_test_accuracy", "accuracy", "precision", "recall",
             "nonmember_precision"])"""),
    ("md", """## Linear-model inversion of VKORC1 (USENIX Security 2014)

A least-squares model predicts sqrt(weekly dose) from the IWPC design matrix. The attacker knows a
patient's other attributes and dose, the model, its training RMSE (Gaussian error model) and the
genotype's marginal prior, and picks the most likely genotype."""),
    ("code", """warfarin = data.load("warfarin")
w = inv.warfarin_study(key, warfarin, num_splits=2 if SMOKE else 10)
print(w["patients"], "patients; RMSE of sqrt(dose):", round(w["rmse_sqrt_dose"], 3))
show(w["rows"], ["attack", "member_accuracy", "nonmember_accuracy"])"""),
]


def build() -> nbformat.NotebookNode:
    return _make.build(CELLS)


if __name__ == "__main__":
    _make.write(build(), __file__, "mi_face.ipynb")
