"""``jaxpriv leak``: models that remember too much (Song et al., CCS 2017)."""

from __future__ import annotations

import argparse

HELP = ("Encode training images into a model (sign, correlation, LSB) or its labels "
        "(capacity abuse) and read them back.")

METHODS = ("sign", "correlation", "lsb", "capacity")
DEFAULT_LAM = {"sign": 30.0, "correlation": 10.0, "lsb": 0.0}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="sign", help=f"one of: {', '.join(METHODS)}")
    p.add_argument("--images", default=None,
                   help="comma-separated amounts of secret images (default: 16,64 for the "
                        "encodings, 4,8 for capacity)")
    p.add_argument("--lam", type=float, default=None,
                   help="penalty weight (default: 30 sign, 10 correlation)")
    p.add_argument("--hidden", default="256", help="MLP hidden widths (default 256)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default 30; 60 for capacity)")
    p.add_argument("--dataset", default="digits", help="an image data set (default digits)")
    p.add_argument("--data-dir", default=None, help="shared data folder (default $JAXPRIV_DATA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")
    p.add_argument("--png", default=None, metavar="PATH",
                   help="save secret vs decoded images (image data sets)")


def main(args: argparse.Namespace) -> int:
    import jax

    from jaxpriv import _validate
    from jaxpriv.experiments import suite_leakage
    from jaxpriv.results import save_json

    _validate.one_of("method", args.method, METHODS)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    key = jax.random.key(args.seed)
    common = dict(hidden=hidden, dataset=args.dataset, data_dir=args.data_dir)
    if args.method == "capacity":
        amounts = tuple(int(v) for v in (args.images or "4,8").split(","))
        rows, secret, decoded = suite_leakage.capacity_study(
            key, num_images=amounts, epochs=args.epochs or 60, **common)
    else:
        amounts = tuple(int(v) for v in (args.images or "16,64").split(","))
        lam = DEFAULT_LAM[args.method] if args.lam is None else args.lam
        rows, secret, decoded = suite_leakage.encoding_study(
            key, method=args.method, num_images=(0,) + amounts, lam=lam,
            epochs=args.epochs or 30, **common)
    print(f"{'method':<22} {'images':>6} {'test_acc':>8} {'drop':>6} {'ssim':>6} {'mae':>6} "
          f"{'ber':>6}")
    for r in rows:
        f = lambda k: f"{r[k]:.3f}" if k in r else "-"
        print(f"{r['attack']:<22} {r['images_encoded']:>6d} {r['test_accuracy']:>8.3f} "
              f"{r['accuracy_drop']:>6.3f} {f('ssim_mean'):>6} {f('mae_mean'):>6} "
              f"{f('bit_error_rate'):>6}")
    if args.json:
        save_json(args.json, rows)
        print(f"wrote {args.json}")
    if args.png and decoded is not None:
        from jaxpriv import data
        from jaxpriv.report import image_grid

        ds = data.load(args.dataset, data_dir=args.data_dir)
        if ds.image_shape is not None:
            k = min(10, secret.shape[0])
            shape = (k,) + tuple(ds.image_shape)
            image_grid(args.png, [("secret", secret[:k].reshape(shape)),
                                  ("decoded", decoded[:k].reshape(shape))],
                       title=f"{args.method}: training images read back")
            print(f"wrote {args.png}")
    return 0
