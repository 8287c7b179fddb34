"""Writes notebooks/extraction.ipynb (run: python notebooks/extraction_make.py).

The notebook reproduces the tables of Tramèr, Zhang, Juels, Reiter, Ristenpart,
"Stealing Machine Learning Models via Prediction APIs" (USENIX Security 2016)
by calling ``jaxpriv.experiments.suite_extraction``; ``JAXPRIV_SMOKE=1`` shrinks
every size (CI), and the cases that need the shared data sets run only when
``JAXPRIV_DATA`` is set.
"""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("""# Stealing models through prediction APIs

Tramèr, Zhang, Juels, Reiter, Ristenpart, *Stealing Machine Learning Models via Prediction APIs*,
USENIX Security 2016, with jaxpriv. Fidelity is `1 - R_test` (agreement with the target on test
data) and `1 - R_unif` (on uniform random inputs); price at $0.0001 per query.
`JAXPRIV_SMOKE=1` runs every case at a tiny size; the full sizes are the paper's."""),
    new_code_cell("""import os, json
import jax, numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from jaxpriv.attacks import extraction as ex
from jaxpriv.experiments import suite_extraction as se
from jaxpriv.results import to_jsonable

smoke = os.environ.get("JAXPRIV_SMOKE") == "1"
data_dir = os.environ.get("JAXPRIV_DATA") or None
key = jax.random.key(0)
print(f"smoke = {smoke}; data = {data_dir}")

def show(result):
    result = {k: v for k, v in result.items() if k != "mi_face_images"}
    print(json.dumps(to_jsonable(result), indent=1))"""),
    new_markdown_cell("""## Equation solving (Table 4)
Binary logistic regression on digits 0 vs 1: the log-odds of `n + 1 = 65` answers give a square
linear system, solved in float64."""),
    new_code_cell("""binary = se.run_case("binary_lr_digits", key, smoke=smoke)
show(binary)
assert binary["queries"] == 65 and binary["1-R_unif"] == 1.0 and binary["max_param_error"] < 1e-6"""),
    new_markdown_cell("""Softmax regression on digits (650 unknowns) from the log-ratios of 650 answers
(1 per unknown, as in the paper's 530-unknown model); Newton from the same budget in full mode."""),
    new_code_cell("""if not smoke:
    show(se.run_case("softmax_digits", jax.random.fold_in(key, 1)))
else:
    print("softmax on digits: full size only (the tests cover it)")"""),
    new_markdown_cell("""A one-hidden-layer tanh MLP on Location (446 -> 5 -> 30, 2,415 unknowns; the paper's MLP
had 2,225) from 5 queries per unknown, by Newton with Gauss-Newton curvature and conjugate
gradients on the log-ratio equations, from sparse queries (a random share of the features at 0:
uniform points in 446 dimensions leave the hidden units a narrow, saturated band). Needs
`JAXPRIV_DATA`; smoke: 446 -> 2 -> 30."""),
    new_code_cell("""if data_dir:
    mlp = se.run_case("mlp_location", jax.random.fold_in(key, 2), data_dir=data_dir, smoke=smoke)
    show(mlp)
    assert mlp["queries_per_unknown"] == 5.0
    assert mlp["1-R_test"] >= 0.999 and mlp["1-R_unif"] >= 0.999
else:
    print("MLP on Location: needs JAXPRIV_DATA")"""),
    new_markdown_cell("""## Decision trees by path finding (Table 6)
Exact recovery from a leaf-id oracle; queries with complete and with incomplete queries beside the
paper's German Credit tree (26 leaves: 1,722 and 1,150 queries)."""),
    new_code_cell("""trees = []
if data_dir:
    trees.append(se.run_case("tree_steak", jax.random.fold_in(key, 3), data_dir=data_dir, smoke=smoke))
if not smoke or not data_dir:
    trees.append(se.run_case("tree_digits", jax.random.fold_in(key, 3), smoke=smoke))
print(f"{'tree':12s} {'leaves':>6s} {'complete':>9s} {'incomplete':>10s} {'fidelity':>9s}")
for t in trees:
    print(f"{t['case']:12s} {t['leaves']:6d} {t['complete']['queries']:9d} "
          f"{t['incomplete']['queries']:10d} {min(t['complete']['1-R_unif'], t['incomplete']['1-R_unif']):9.4f}")
print(f"{'paper':12s} {26:6d} {1722:9d} {1150:10d} {1.0:9.4f}  (German Credit)")"""),
    new_markdown_cell("""## Label-only attacks (§5)
Lowd-Meek line search on binary LR, and retraining with uniform, line-search and adaptive queries
at budgets of `k (d + 1)` label queries. Full size only (the tests cover the smoke size)."""),
    new_code_cell("""if not smoke:
    show(se.run_case("label_only_digits", jax.random.fold_in(key, 4)))
else:
    print("label-only: full size only")"""),
    new_markdown_cell("""## The rounding countermeasure (§8.1)
Newton extraction of a digits softmax model as the API rounds its confidences to 1...5 decimals,
beside the exact oracle, at several budgets (queries per unknown): fidelity per level, then the
smallest budget that reaches 99% and 99.9% agreement on both test and uniform points. Behind
rounding Newton minimises the KL divergence; the levels of one budget share their queries.
Smoke: the digits pooled to 16 features (170 unknowns), budgets 1 and 4."""),
    new_code_cell("""rows = se.run_case("rounding_digits", jax.random.fold_in(key, 5), smoke=smoke)
print(f"{'decimals':>8s} {'q/unknown':>9s} {'queries':>7s} {'1-R_test':>8s} {'1-R_unif':>8s} {'steps':>5s}")
for r in rows:
    print(f"{str(r['decimals']):>8s} {r['queries_per_unknown']:9.1f} {r['queries']:7d} "
          f"{r['1-R_test']:8.4f} {r['1-R_unif']:8.4f} {r['newton_steps']:5d}")
levels = sorted({r["decimals"] for r in rows if r["decimals"] is not None})
print("rounding levels:", levels)
assert levels == [1, 2, 3, 4, 5]
for target in (0.99, 0.999):
    print(f"queries per unknown needed for {target:.1%} agreement:")
    for n in ex.queries_needed(rows, target):
        got = "not reached" if n["queries"] is None else \
            f"{n['queries_per_unknown']:g} ({n['queries']} queries)"
        print(f"  decimals {str(n['decimals']):>4s}: {got}; fidelity {n['fidelity']:.4f}")
fig, ax = plt.subplots(figsize=(5, 3))
for q in sorted({r["queries_per_unknown"] for r in rows}):
    pts = [(r["decimals"], r["1-R_test"]) for r in rows
           if r["queries_per_unknown"] == q and r["decimals"] is not None]
    ax.plot(*zip(*pts), marker="o", label=f"{q:g} query/unknown")
ax.set_xlabel("decimals returned"); ax.set_ylabel("1 - R_test"); ax.legend()
fig.tight_layout(); fig.savefig("extraction_rounding.png", dpi=100)"""),
    new_markdown_cell("""## Extract, then invert (§4.1.2)
The AT&T-faces softmax model: 40 x 10,305 unknowns from 41,216 queries, conjugate gradients on the
centred log-ratio system in float32 (the paper's solve took about 10 hours), then MI-Face
(Fredrikson et al., CCS 2015) on the stolen copy. Smoke: faces downsampled 4 x 4."""),
    new_code_cell("""if data_dir:
    faces = se.run_case("faces", jax.random.fold_in(key, 6), data_dir=data_dir, smoke=smoke)
    show(faces)
    imgs = faces["mi_face_images"]
    h, w = (28, 23) if smoke else (112, 92)
    fig, axes = plt.subplots(1, min(8, len(imgs)), figsize=(12, 2))
    for a, im in zip(np.atleast_1d(axes), imgs):
        a.imshow(im.reshape(h, w), cmap="gray"); a.axis("off")
    fig.savefig("extraction_faces_mi_face.png", dpi=80)
else:
    print("AT&T faces: needs JAXPRIV_DATA")"""),
]

nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3",
                                                        "display_name": "Python 3",
                                                        "language": "python"}})
out = pathlib.Path(__file__).with_name("extraction.ipynb")
nbformat.write(nb, out)
print(f"wrote {out}")
