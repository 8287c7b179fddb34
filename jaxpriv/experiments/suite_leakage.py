"""The leakage family of ``jaxpriv run`` (Song, Ristenpart, Shmatikov, CCS 2017).

The attacker here is the training code: ``run(ctx)`` trains malicious models
of the audit's architecture on the audit's member rows and measures what they
leak:

* white-box encodings (sign, correlated value, LSB): test accuracy of the
  model holding ``m`` secret images next to the audit's own target (0 images:
  same architecture, members and training settings), and the mean absolute
  pixel error and SSIM of the decoded images;
* black-box capacity abuse: test accuracy with 0 (the target) and ``N``
  malicious inputs,
  and the bit error rate of the secret read back through an oracle (plain on
  the undefended side, with the audit's output defences on the defended side).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from jaxpriv import metrics, training
from jaxpriv.attacks import leakage
from jaxpriv.oracles import Oracle

SETTINGS = {"sign": dict(lam=30.0), "correlation": dict(lam=3.0),
            "lsb": dict(lam=0.0, bits_per_pixel=8, bits_per_param=16)}


def _images(ctx, flat):
    return flat.reshape((flat.shape[0],) + tuple(ctx.dataset.image_shape)) \
        if ctx.dataset.image_shape is not None else flat[:, None, :]


def _accuracy(apply_fn, params, ds) -> float:
    return training.accuracy(apply_fn, params, ds.x, ds.y)


def run(ctx) -> list[dict]:
    """Encodings and capacity abuse with the audit's architecture and members."""
    members, test = ctx.members, ctx.test
    lo, hi = float(ctx.dataset.x.min()), float(ctx.dataset.x.max())
    if lo < 0 or hi > 1 or ctx.dataset.num_classes < 2:
        # The secrets are [0, 1] pixels and capacity abuse needs class labels.
        return [{"attack": "leakage", "target": "undefended",
                 "skipped": f"needs a classification data set with inputs in [0, 1]; "
                            f"{ctx.dataset.name} has values in [{lo:g}, {hi:g}] and "
                            f"{ctx.dataset.num_classes} classes"}]
    epochs = ctx.train_config.epochs
    train_kw = dict(epochs=epochs, batch_size=ctx.train_config.batch_size,
                    learning_rate=float(ctx.hyper.learning_rate), progress=ctx.progress)
    p = ctx.dataset.num_features
    # The benign baseline is the audit's own target: same architecture, members
    # and training settings, no secret.
    acc0 = _accuracy(ctx.model.apply, ctx.params, test)
    rows, pictures = [], []
    for i, (method, kw) in enumerate(SETTINGS.items()):
        cfg = leakage.EncodingConfig(method=method, **train_kw, **kw)
        cap = leakage.encoding_capacity(ctx.params, p, cfg)
        m = min(cap, len(members), 4 if ctx.smoke else 32)
        if m < 1:
            continue
        secret = members.x[:m]
        t0 = time.time()
        if method == "lsb":  # LSB needs no special training: overwrite the target's bits.
            bits = leakage.images_to_bits(secret, cfg.bits_per_pixel)
            bad = leakage.lsb_encode(ctx.params, bits, cfg.bits_per_param)
        else:
            bad = leakage.encode_secret(jax.random.fold_in(ctx.key, i), ctx.model,
                                        (members.x, members.y), secret, cfg).params
        dec = leakage.decode_secret(None, bad, (m, p), cfg)
        seconds = time.time() - t0
        acc1 = _accuracy(ctx.model.apply, bad, test)
        ssim = metrics.ssim(_images(ctx, dec.images), _images(ctx, secret))
        mae = metrics.mean_absolute_error(_images(ctx, dec.images), _images(ctx, secret))
        rows.append({"attack": f"{method}_encoding", "target": "undefended",
                     "images_encoded": m, "capacity_images": cap,
                     "test_accuracy_benign": acc0, "test_accuracy_malicious": acc1,
                     "accuracy_drop": acc0 - acc1, "ssim_mean": float(np.mean(ssim)),
                     "mae_mean": float(np.mean(mae)), "lam": kw["lam"], "seconds": seconds})
        pictures.append((method, secret, dec.images))

    # Black-box capacity abuse: N synthetic inputs carry the first images' bits.
    bpp = 4
    ccfg = leakage.CapacityConfig(num_classes=ctx.dataset.num_classes, num_features=p)
    n_img = max(1, min(2 if ctx.smoke else 4, len(members) // (2 * ccfg.inputs_for(p * bpp))))
    bits = leakage.images_to_bits(members.x[:n_img], bpp)
    ckey = jax.random.fold_in(ctx.key, 100)
    x_aug, y_aug, n_mal = leakage.capacity_abuse_augment(ckey, (members.x, members.y), bits,
                                                         ccfg)
    t0 = time.time()
    # The malicious algorithm trains a little longer so the model memorises them.
    tc = training.TrainConfig(epochs=2 * epochs, batch_size=ctx.train_config.batch_size,
                              progress=ctx.progress)
    bad, _ = training.fit(jax.random.fold_in(ctx.key, 101), ctx.model, x_aug, y_aug, tc,
                          ctx.hyper._replace(l2=0.0))
    acc1 = _accuracy(ctx.model.apply, bad, test)
    train_seconds = time.time() - t0
    for target, defenses in (("undefended", ()), ("defended", ctx.defenses)):
        oracle = Oracle.from_model(ctx.model.apply, bad, defenses=defenses,
                                   input_shape=(p,), key=jax.random.fold_in(ctx.key, 7))
        res = leakage.capacity_abuse_recover(ckey, oracle, bits.size, ccfg)
        img = leakage.bits_to_images(res.bits, n_img, p, bpp)
        rows.append({"attack": "capacity_abuse", "target": target,
                     "oracle": oracle.describe(), "malicious_inputs": n_mal,
                     "secret_bits": int(bits.size), "images_encoded": n_img,
                     "test_accuracy_benign": acc0, "test_accuracy_malicious": acc1,
                     "accuracy_drop": acc0 - acc1,
                     "bit_error_rate": leakage.bit_error_rate(res.bits, bits),
                     "ssim_mean": float(np.mean(metrics.ssim(_images(ctx, img),
                                                             _images(ctx, members.x[:n_img])))),
                     "queries": res.queries, "seconds": train_seconds})
        if target == "undefended":
            pictures.append(("capacity abuse", members.x[:n_img], img))
    if ctx.dataset.image_shape is not None and pictures:
        _picture(ctx, pictures, rows)
    return rows


def _picture(ctx, pictures, rows):
    from jaxpriv.report import image_grid

    k = min(6, min(s.shape[0] for _, s, _ in pictures))
    grid = [("training images", _images(ctx, pictures[0][1][:k]))]
    grid += [(f"{name} decoded", _images(ctx, dec[:k])) for name, _, dec in pictures]
    path = image_grid(ctx.out_dir / "leakage_decoded.png", grid,
                      title="training images stolen from model parameters / labels")
    rows[0]["images"] = [{"title": "decoded training images", "path": str(path)}]


def _study_data(key, dataset, data_dir, n_train):
    from jaxpriv import data as jdata

    ds = dataset if isinstance(dataset, jdata.Dataset) else jdata.load(dataset, data_dir=data_dir)
    n_train = min(n_train, len(ds) - max(len(ds) // 5, 1))
    s = jdata.split(key, ds, n_members=n_train, n_test=len(ds) - n_train, stratify=ds.y)
    return ds, ds.subset(s.members), ds.subset(s.test)


def encoding_study(key: jax.Array, *, method: str = "sign", num_images=(0, 16, 64),
                   lam: float = 30.0, hidden=(256,), epochs: int = 30,
                   dataset="digits", data_dir=None, n_train: int = 1257,
                   bits_per_pixel: int = 4, bits_per_param: int = 16,
                   progress: bool = False) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Test accuracy and reconstruction quality against the amount encoded.

    Trains one malicious MLP per entry of ``num_images`` (one vmapped call;
    ``0`` is the benign model) on the training split and decodes each.

    Returns:
      ``(rows, secret, decoded)``: one row per amount (``images_encoded``,
      ``test_accuracy``, ``accuracy_drop`` from the 0-image model, ``ssim_mean``,
      ``mae_mean``), the secret images ``[m, p]`` and the decoded images of
      the largest amount ``[m, p]``.
    """
    from jaxpriv import models

    ds, train, test = _study_data(jax.random.fold_in(key, 0), dataset, data_dir, n_train)
    model = models.make_model("mlp", num_features=ds.num_features,
                              num_classes=ds.num_classes, hidden=tuple(hidden))
    amounts = tuple(int(a) for a in num_images)
    if 0 not in amounts:
        amounts = (0,) + amounts
    cfg = leakage.EncodingConfig(method=method, lam=lam, num_images=amounts, epochs=epochs,
                                 bits_per_pixel=bits_per_pixel, bits_per_param=bits_per_param,
                                 progress=progress)
    secret = train.x[:max(amounts)]
    t0 = time.time()
    enc = leakage.encode_secret(jax.random.fold_in(key, 1), model, (train.x, train.y), secret,
                                cfg)
    seconds = time.time() - t0
    accs = training.accuracy_many(model.apply, enc.params, test.x, test.y)
    base = float(accs[amounts.index(0)])
    rows, decoded = [], None
    for k, m in enumerate(amounts):
        row = {"attack": f"{method}_encoding", "target": "undefended", "images_encoded": m,
               "lam": lam, "test_accuracy": float(accs[k]),
               "accuracy_drop": base - float(accs[k]), "train_seconds": seconds}
        if m:
            pk = jax.tree_util.tree_map(lambda a: a[k], enc.params)
            dec = leakage.decode_secret(None, pk, (m, ds.num_features), cfg)
            sec = _shaped(ds, secret[:m])
            row["ssim_mean"] = float(np.mean(metrics.ssim(_shaped(ds, dec.images), sec)))
            row["mae_mean"] = float(np.mean(metrics.mean_absolute_error(
                _shaped(ds, dec.images), sec)))
            if m == max(amounts):
                decoded = dec.images
        rows.append(row)
    return rows, secret, decoded


def _shaped(ds, flat):
    return flat.reshape((flat.shape[0],) + tuple(ds.image_shape)) \
        if ds.image_shape is not None else flat[:, None, :]


def capacity_study(key: jax.Array, *, num_images=(2, 4, 8), hidden=(256,), epochs: int = 60,
                   dataset="digits", data_dir=None, n_train: int = 1257,
                   bits_per_pixel: int = 4, defenses=(), progress: bool = False
                   ) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Capacity abuse: test accuracy with 0 and N malicious inputs, and the bit error rate.

    One model per entry of ``num_images`` plus the benign one, all trained in
    one ``fit_many`` call (member masks pick each model's malicious rows); the
    secret is read back through an oracle with ``defenses``.

    Returns:
      ``(rows, secret, decoded)`` as in :func:`encoding_study`.
    """
    from jaxpriv import models

    ds, train, test = _study_data(jax.random.fold_in(key, 0), dataset, data_dir, n_train)
    model = models.make_model("mlp", num_features=ds.num_features,
                              num_classes=ds.num_classes, hidden=tuple(hidden))
    cfg = leakage.CapacityConfig(num_classes=ds.num_classes, num_features=ds.num_features)
    amounts = tuple(int(a) for a in num_images)
    bits = leakage.images_to_bits(train.x[:max(amounts)], bits_per_pixel)
    ckey = jax.random.fold_in(key, 2)
    x_aug, y_aug, n_all = leakage.capacity_abuse_augment(ckey, (train.x, train.y), bits, cfg)
    n = len(train)
    per_image = ds.num_features * bits_per_pixel
    n_mal = [0] + [cfg.inputs_for(m * per_image) for m in amounts]
    masks = np.zeros((len(n_mal), x_aug.shape[0]), np.float32)
    for k, nm in enumerate(n_mal):
        masks[k, :n + nm] = 1.0
    t0 = time.time()
    params, _ = training.fit_many(
        jax.random.split(jax.random.fold_in(key, 3), len(n_mal)), model, x_aug, y_aug,
        training.TrainConfig(epochs=epochs, batch_size=32, progress=progress),
        training.Hyper(learning_rate=3e-3), masks=masks)
    seconds = time.time() - t0
    accs = training.accuracy_many(model.apply, params, test.x, test.y)
    rows, decoded = [], None
    for k, m in enumerate((0,) + amounts):
        row = {"attack": "capacity_abuse", "target": "undefended", "images_encoded": m,
               "malicious_inputs": n_mal[k], "test_accuracy": float(accs[k]),
               "accuracy_drop": float(accs[0] - accs[k]), "train_seconds": seconds}
        if m:
            pk = jax.tree_util.tree_map(lambda a: a[k], params)
            oracle = Oracle.from_model(model.apply, pk, defenses=tuple(defenses))
            nbits = m * per_image
            res = leakage.capacity_abuse_recover(ckey, oracle, nbits, cfg)
            img = leakage.bits_to_images(res.bits, m, ds.num_features, bits_per_pixel)
            row.update(secret_bits=nbits, queries=res.queries, oracle=oracle.describe(),
                       bit_error_rate=leakage.bit_error_rate(res.bits, bits[:nbits]),
                       ssim_mean=float(np.mean(metrics.ssim(_shaped(ds, img),
                                                            _shaped(ds, train.x[:m])))))
            if m == max(amounts):
                decoded = img
        rows.append(row)
    return rows, train.x[:max(amounts)], decoded
