"""Face targets and the evaluation of MI-Face reconstructions.

Fredrikson, Jha, Ristenpart (CCS 2015, Section 5.4) judge reconstructions by
whether people can pick the right person. Here an independent classifier,
trained on the people's *other* images (never on the target or its training
images), names the person in each reconstruction; mean squared error and SSIM
to the person's images complete the picture, and a PNG grid shows each person
next to the reconstructions of every target.

Reconstructions live on another intensity scale than photos (they come out
dark), so the evaluator standardises each image (zero mean, unit variance)
before classifying; both rates, with and without that step, are reported. The
grid shows reconstructions contrast-stretched.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxpriv import _validate
from jaxpriv import metrics
from jaxpriv.models import Model, dae_reconstruct_fn, make_model
from jaxpriv.training import Hyper, TrainConfig, fit

FACE_TARGETS = ("softmax", "mlp", "dae")


def standardize_images(x: Any) -> np.ndarray:
    """Per-image zero mean and unit variance. ``[n, d] -> [n, d]`` (float32)."""
    x = np.asarray(x, np.float32)
    mu = x.mean(axis=-1, keepdims=True)
    sd = x.std(axis=-1, keepdims=True)
    return ((x - mu) / np.maximum(sd, 1e-8)).astype(np.float32)


def contrast_stretch(x: Any) -> np.ndarray:
    """Per-image min-max stretch to [0, 1] (for display and SSIM). ``[n, d]``."""
    x = np.asarray(x, np.float32)
    lo = x.min(axis=-1, keepdims=True)
    hi = x.max(axis=-1, keepdims=True)
    return ((x - lo) / np.maximum(hi - lo, 1e-8)).astype(np.float32)


class Identifier(NamedTuple):
    """An independent classifier for evaluation: a ridge (least-squares one-hot)
    linear classifier fitted in closed form on the host.

    Attributes:
      w: float64 ``[d + 1, c]`` weights (last row: bias).
      standardize: whether inputs are standardised per image first.
    """

    w: np.ndarray
    standardize: bool

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels ``[n]`` for images ``x [n, d]``."""
        x = np.asarray(x, np.float64)
        if self.standardize:
            x = standardize_images(x).astype(np.float64)
        return np.argmax(x @ self.w[:-1] + self.w[-1], axis=1)


def fit_identifier(key: jax.Array, x: Any, y: Any, num_classes: int, *,
                   standardize: bool = True, ridge: float = 1.0,
                   epochs: int | None = None) -> Identifier:
    """Fits the evaluation classifier on ``x [n, d]``, ``y [n]``.

    A ridge classifier (one-hot targets, least squares with penalty ``ridge``),
    solved in closed form through the ``[n, n]`` kernel (``n`` is small: the
    people's other images). Host-side NumPy: no compilation. Fit it on images
    the target never saw, so that it recognises people, not the target's
    training images.

    Args:
      key: unused (the fit is deterministic); kept for the common shape.
      x, y: the evaluator's images and labels.
      num_classes: ``c``.
      standardize: standardise each image (zero mean, unit variance) first.
      ridge: the L2 penalty.
      epochs: ignored (kept for compatibility).
    """
    del key, epochs
    x = _validate.array("x", x, ndim=2, dtype_kind="f").astype(np.float64)
    y = _validate.labels("y", y, num_classes, n=x.shape[0])
    _validate.positive("ridge", ridge)
    if standardize:
        x = standardize_images(x).astype(np.float64)
    xa = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
    targets = np.eye(num_classes)[y]
    alpha = np.linalg.solve(xa @ xa.T + ridge * np.eye(x.shape[0]), targets)
    return Identifier(xa.T @ alpha, standardize)


def face_scores(recon: Any, labels: Any, images: Any, image_labels: Any,
                image_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """MSE and SSIM of each reconstruction to its person's images.

    The reconstruction is contrast-stretched to [0, 1] first (photos are in
    [0, 1]; raw reconstructions are dark and not on the same scale), then
    compared with each of the person's images; the mean over those images is
    reported.

    Args:
      recon: ``[L, d]`` reconstructions.
      labels: int ``[L]`` the person each reconstructs.
      images: ``[n, d]`` photos in [0, 1]; image_labels: int ``[n]``.
      image_shape: ``(h, w)``.

    Returns:
      ``{"mse": [L], "ssim": [L]}``.
    """
    recon = contrast_stretch(_validate.array("recon", recon, ndim=2))
    labels = np.asarray(labels)
    images = np.asarray(images, np.float32)
    image_labels = np.asarray(image_labels)
    h, w = image_shape
    mse, ssim = [], []
    for r, lab in zip(recon, labels):  # host-side metrics over L <= a few dozen images
        own = images[image_labels == lab]
        if own.size == 0:
            raise ValueError(f"Expected images of label {int(lab)}; got none.")
        mse.append(float(np.mean((own - r[None]) ** 2)))
        rr = np.broadcast_to(r.reshape(1, h, w), (own.shape[0], h, w))
        ssim.append(float(np.mean(metrics.ssim(rr, own.reshape(-1, h, w)))))
    return {"mse": np.asarray(mse), "ssim": np.asarray(ssim)}


def evaluate_faces(recon: Any, labels: Any, identifiers: Mapping[str, Identifier],
                   images: Any, image_labels: Any,
                   image_shape: tuple[int, int]) -> dict[str, Any]:
    """Identification rates (one per identifier), mean MSE and mean SSIM.

    Args:
      recon: ``[L, d]`` reconstructions; labels: int ``[L]``.
      identifiers: name -> :class:`Identifier`, e.g. ``{"standardized": ...,
        "raw": ...}``.
      images, image_labels: the photos to compare with (``[n, d]``, ``[n]``).
      image_shape: ``(h, w)``.

    Returns:
      ``{"identified_<name>": rate, "mse": mean, "ssim": mean, "per_label": {...}}``.
    """
    labels = np.asarray(labels)
    out: dict[str, Any] = {}
    per: dict[str, Any] = {"label": labels.tolist()}
    for name, ident in identifiers.items():
        pred = ident.predict(recon)
        out[f"identified_{name}"] = float(np.mean(pred == labels))
        per[f"predicted_{name}"] = pred.tolist()
    sc = face_scores(recon, labels, images, image_labels, image_shape)
    out["mse"] = float(sc["mse"].mean())
    out["ssim"] = float(sc["ssim"].mean())
    per.update({k: v.tolist() for k, v in sc.items()})
    out["per_label"] = per
    return out


def face_grid_png(path: str | pathlib.Path, persons: Any, recons: Mapping[str, Any],
                  image_shape: tuple[int, int], *, per_row: int = 4,
                  titles: Sequence[str] | None = None) -> pathlib.Path:
    """Writes a PNG grid: each person next to its reconstructions, contrast-stretched.

    One mosaic image (one ``imshow``), so it stays fast for 40 people.

    Args:
      path: output PNG path.
      persons: ``[L, d]`` one photo per person (e.g. a training image).
      recons: column name -> ``[L, d]`` reconstructions (e.g. softmax, MLP, DAE).
      image_shape: ``(h, w)``.
      per_row: persons per row of the grid.
      titles: optional ``L`` names.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    persons = np.asarray(persons, np.float32)
    cols = ["person"] + list(recons)
    panels = [np.clip(persons, 0.0, 1.0)] + [contrast_stretch(r) for r in recons.values()]
    num, k = persons.shape[0], len(cols)
    h, w = image_shape
    rows = -(-num // per_row)
    gap = 2
    cell_w, cell_h = w + gap, h + gap
    group = k * cell_w + 3 * gap
    mosaic = np.ones((rows * cell_h, per_row * group), np.float32)
    for i in range(num):
        r, c0 = divmod(i, per_row)
        for j in range(k):
            y0, x0 = r * cell_h, c0 * group + j * cell_w
            mosaic[y0:y0 + h, x0:x0 + w] = panels[j][i].reshape(h, w)
    width_in, height_in = mosaic.shape[1] / 100.0, mosaic.shape[0] / 100.0
    fig = Figure(figsize=(width_in, height_in + 0.15))  # 100 mosaic pixels per inch
    ax = fig.add_axes((0.0, 0.0, 1.0, height_in / (height_in + 0.15)))
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.axis("off")
    for c0 in range(min(per_row, num)):
        for j, name in enumerate(cols):
            ax.text(c0 * group + j * cell_w + w / 2, -gap, name, ha="center", va="bottom",
                    fontsize=5)
    if titles is not None:
        for i, t in enumerate(titles):
            r, c0 = divmod(i, per_row)
            ax.text(c0 * group, r * cell_h + 4, str(t), fontsize=4, color="yellow", va="top")
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path


# ----------------------------------------------------------------------------
# Face targets of the paper: softmax, MLP (3000 sigmoid units), DAE
# ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, kw_only=True)
class FaceTargetConfig:
    """How the three face targets are trained (Fredrikson et al. 2015, Section 5.1).

    Attributes:
      epochs: training epochs (all targets).
      mlp_hidden: MLP hidden width (the paper: 3000 sigmoid units).
      dae_hidden: DAE encoder widths (the paper: 1000, 300).
      dae_noise: std of the Gaussian input noise of the denoising loss.
      dae_recon_weight: weight of the reconstruction loss next to cross-entropy.
      learning_rate: Adam step size.
    """

    epochs: int = 60
    mlp_hidden: int = 3000
    dae_hidden: tuple[int, ...] = (1000, 300)
    dae_noise: float = 0.1
    dae_recon_weight: float = 10.0
    learning_rate: float = 1e-3

    def __post_init__(self):
        _validate.positive("epochs", self.epochs)
        _validate.positive("mlp_hidden", self.mlp_hidden)
        _validate.positive("dae_noise", self.dae_noise, allow_zero=True)
        _validate.positive("learning_rate", self.learning_rate)


class FaceTarget(NamedTuple):
    """A trained face target: ``model``, ``params`` and the MI-Face PROCESS it uses."""

    name: str
    model: Model
    params: Any
    process: Any  # "clip", "none" or a Process


def _train_dae(key, model: Model, x, y, config: FaceTargetConfig, batch_size: int = 32):
    """Cross-entropy on noisy inputs plus the denoising reconstruction loss."""
    reconstruct = dae_reconstruct_fn(model)
    xj, yj = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32)
    n = xj.shape[0]
    params = model.init(jax.random.fold_in(key, 0), xj[:1])
    tx = optax.adam(config.learning_rate)
    nb = max(n // batch_size, 1)

    def loss_fn(p, xb, yb, k):
        noisy = xb + config.dae_noise * jax.random.normal(k, xb.shape)
        ce = optax.softmax_cross_entropy_with_integer_labels(model.apply(p, noisy), yb).mean()
        rec = jnp.mean(jnp.square(reconstruct(p, noisy) - xb))
        return ce + config.dae_recon_weight * rec

    @jax.jit
    def run(params):
        def epoch(carry, e):
            p, s = carry
            perm = jax.random.permutation(jax.random.fold_in(key, e + 1), n)[:nb * batch_size]

            def step(c, idx):
                p, s = c
                k = jax.random.fold_in(jax.random.fold_in(key, 10_000 + e), idx[0])
                g = jax.grad(loss_fn)(p, xj[idx], yj[idx], k)
                u, s = tx.update(g, s, p)
                return (optax.apply_updates(p, u), s), None

            carry, _ = jax.lax.scan(step, (p, s), perm.reshape(nb, batch_size))
            return carry, None

        (p, _), _ = jax.lax.scan(epoch, (params, tx.init(params)), jnp.arange(config.epochs))
        return p

    return run(params)


def train_face_targets(key: jax.Array, x: Any, y: Any, num_classes: int,
                       image_shape: tuple[int, int],
                       config: FaceTargetConfig = FaceTargetConfig(),
                       targets: Sequence[str] = FACE_TARGETS) -> dict[str, FaceTarget]:
    """Trains the paper's face targets on ``x [n, d]``, ``y [n]``.

    Returns:
      name -> :class:`FaceTarget`; the DAE's ``process`` is
      :func:`~jaxpriv.attacks.inversion.dae_process` over its own autoencoder.
    """
    from jaxpriv.attacks.inversion._mi_face import dae_process

    x = _validate.array("x", x, ndim=2, dtype_kind="f")
    y = _validate.labels("y", y, num_classes, n=x.shape[0])
    for t in targets:
        _validate.one_of("target", t, FACE_TARGETS)
    d = x.shape[1]
    out = {}
    tc = TrainConfig(epochs=config.epochs, batch_size=32)
    for i, name in enumerate(targets):
        k = jax.random.fold_in(key, i)
        if name == "softmax":
            m = make_model("softmax", num_features=d, num_classes=num_classes)
            p, _ = fit(k, m, x, y, tc, Hyper(learning_rate=3e-3))
            out[name] = FaceTarget(name, m, p, "clip")
        elif name == "mlp":
            m = make_model("mlp", num_features=d, num_classes=num_classes,
                           hidden=(config.mlp_hidden,), activation="sigmoid")
            p, _ = fit(k, m, x, y, tc, Hyper(learning_rate=config.learning_rate))
            out[name] = FaceTarget(name, m, p, "clip")
        else:
            m = make_model("dae", num_features=d, num_classes=num_classes,
                           hidden=tuple(config.dae_hidden))
            p = _train_dae(k, m, x, y, config)
            out[name] = FaceTarget(name, m, p,
                                   dae_process(dae_reconstruct_fn(m), p, image_shape))
    return out
