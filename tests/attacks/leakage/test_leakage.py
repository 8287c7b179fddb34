"""Song, Ristenpart, Shmatikov (CCS 2017): encodings, decoders and capacity abuse on digits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxpriv import data, metrics, models, training
from jaxpriv.attacks import leakage
from jaxpriv.attacks.leakage import (CapacityConfig, EncodingConfig, bit_error_rate,
                                     capacity_abuse_augment, capacity_abuse_recover,
                                     decode_secret, encode_secret)
from jaxpriv.oracles import AccessError, Oracle, label_only, round_outputs

EPOCHS = 12


@pytest.fixture(scope="module")
def digits():
    ds = data.load_digits()
    s = data.split(jax.random.key(0), ds, n_members=1200, n_test=597, stratify=ds.y)
    model = models.make_model("mlp", num_features=64, num_classes=10, hidden=(64,))
    return model, ds.subset(s.members), ds.subset(s.test)


def _cfg(method, **kw):
    lam = {"sign": 30.0, "correlation": 3.0, "lsb": 0.0}[method]
    return EncodingConfig(method=method, lam=lam, num_images=(0, 8), epochs=EPOCHS, **kw)


def _study(digits, method, key=1, secret_rows=slice(0, 8)):
    model, train, test = digits
    cfg = _cfg(method)
    secret = train.x[secret_rows]
    enc = encode_secret(jax.random.key(key), model, (train.x, train.y), secret, cfg)
    accs = training.accuracy_many(model.apply, enc.params, test.x, test.y)
    bad = jax.tree_util.tree_map(lambda a: a[1], enc.params)
    dec = decode_secret(None, (model.apply, bad), (8, 64), cfg)
    ssim = metrics.ssim(dec.images.reshape(-1, 8, 8), secret.reshape(-1, 8, 8))
    return enc, accs, dec, ssim, secret


@pytest.fixture(scope="module")
def sign_study(digits):
    return _study(digits, "sign")


def test_sign_encoding_recovers_images_at_no_accuracy_cost(sign_study):
    """§4.3: the parameter signs spell out the secret bits; accuracy within 2 points."""
    enc, accs, dec, ssim, secret = sign_study
    assert enc.num_images.tolist() == [0, 8]
    assert accs[0] - accs[1] <= 0.02
    assert float(np.mean(ssim)) > 0.8
    truth = leakage.images_to_bits(secret, 4)
    assert bit_error_rate(dec.bits, truth) < 0.05
    # The benign model (0 images) holds no secret: its signs are coin flips.
    benign = jax.tree_util.tree_map(lambda a: a[0], enc.params)
    dec0 = decode_secret(None, benign, (8, 64), _cfg("sign"))
    assert bit_error_rate(dec0.bits, truth) > 0.3


def test_correlated_value_encoding_recovers_images(digits):
    """§4.2: parameters correlated with pixel values; min-max rescaling decodes."""
    enc, accs, dec, ssim, secret = _study(digits, "correlation")
    assert accs[0] - accs[1] <= 0.02
    assert float(np.mean(ssim)) > 0.8
    assert dec.bits is None and dec.images.min() >= 0 and dec.images.max() <= 1
    assert float(np.mean(metrics.mean_absolute_error(
        dec.images.reshape(-1, 8, 8), secret.reshape(-1, 8, 8)))) < 0.15


def test_lsb_encoding_is_exact_and_nearly_free(digits):
    """§4.1: overwrite low-order mantissa bits after training."""
    model, train, test = digits
    params = model.init(jax.random.key(0), train.x[:1])
    cfg = EncodingConfig(method="lsb", bits_per_param=16, bits_per_pixel=8)
    cap = leakage.encoding_capacity(params, 64, cfg)
    assert cap == leakage.kernel_vector(params).shape[0] * 16 // (64 * 8)
    secret = train.x[:cap]
    bits = leakage.images_to_bits(secret, 8)
    bad = leakage.lsb_encode(params, bits, 16)
    dec = decode_secret(None, bad, (cap, 64), cfg)
    np.testing.assert_array_equal(dec.bits, bits)
    np.testing.assert_allclose(dec.images, np.round(secret * 255) / 255, atol=1e-6)
    v0, v1 = np.asarray(leakage.kernel_vector(params)), np.asarray(leakage.kernel_vector(bad))
    assert np.all(np.abs(v1 - v0) <= np.abs(v0) * 2.0 ** -7)
    # Biases are left alone.
    np.testing.assert_array_equal(np.asarray(bad["out"]["bias"]),
                                  np.asarray(params["out"]["bias"]))


def test_capacity_abuse_reads_bits_back_through_a_label_only_oracle(digits):
    """§5: synthetic inputs whose labels carry 3 bits each; BER <= 5%, accuracy kept."""
    model, train, test = digits
    cfg = CapacityConfig(num_classes=10, num_features=64)
    bits = leakage.images_to_bits(train.x[:2], 4)  # 512 bits -> 171 inputs
    key = jax.random.key(3)
    x_aug, y_aug, n_mal = capacity_abuse_augment(key, (train.x, train.y), bits, cfg)
    assert n_mal == 171 and x_aug.shape == (len(train) + 171, 64)
    masks = np.ones((2, x_aug.shape[0]), np.float32)
    masks[0, -n_mal:] = 0.0
    params, _ = training.fit_many(jax.random.split(jax.random.key(4), 2), model, x_aug, y_aug,
                                  training.TrainConfig(epochs=40, batch_size=32),
                                  training.Hyper(learning_rate=3e-3), masks=masks)
    accs = training.accuracy_many(model.apply, params, test.x, test.y)
    assert accs[0] - accs[1] <= 0.02
    bad = jax.tree_util.tree_map(lambda a: a[1], params)
    oracle = Oracle.from_model(model.apply, bad, defenses=[label_only()])
    res = capacity_abuse_recover(key, oracle, bits.size, cfg)
    assert res.queries == oracle.queries == 171
    assert bit_error_rate(res.bits, bits) <= 0.05
    # The benign model never saw the synthetic inputs: its labels carry nothing.
    benign = Oracle.from_model(model.apply, jax.tree_util.tree_map(lambda a: a[0], params))
    assert bit_error_rate(capacity_abuse_recover(key, benign, bits.size, cfg).bits, bits) > 0.2
    # Rounding the confidences does not stop it: the label survives.
    rounded = Oracle.from_model(model.apply, bad, defenses=[round_outputs(1)])
    assert bit_error_rate(capacity_abuse_recover(key, rounded, bits.size, cfg).bits,
                          bits) <= 0.06


def test_same_key_same_model_and_no_recompilation(digits, sign_study):
    model, train, _ = digits
    traces = []

    def counted(p, z):
        traces.append(1)
        return model.apply(p, z)

    counted_model = model._replace(apply=counted)
    cfg = EncodingConfig(method="sign", lam=(0.0, 30.0), num_images=(0, 8), epochs=1)
    a = encode_secret(jax.random.key(5), counted_model, (train.x, train.y), train.x[:8], cfg)
    first = len(traces)
    cfg2 = EncodingConfig(method="sign", lam=(1.0, 10.0), num_images=(4, 8), epochs=1)
    b = encode_secret(jax.random.key(5), counted_model, (train.x, train.y), train.x[8:16], cfg2)
    assert len(traces) == first  # new secret, amounts and weights: same program
    c = encode_secret(jax.random.key(5), counted_model, (train.x, train.y), train.x[:8], cfg)
    for u, v in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(c.params)):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert not np.array_equal(np.asarray(a.params["out"]["kernel"]),
                              np.asarray(b.params["out"]["kernel"]))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.lists(st.integers(0, 255), min_size=1, max_size=24))
def test_bits_and_labels_round_trip(bpp, pixels):
    levels = (1 << bpp) - 1
    img = (np.asarray(pixels) % (levels + 1) / levels).astype(np.float32)[None]
    bits = leakage.images_to_bits(img, bpp)
    assert bits.size == img.size * bpp
    np.testing.assert_allclose(leakage.bits_to_images(bits, 1, img.shape[1], bpp), img,
                               atol=1e-6)
    cfg = CapacityConfig(num_classes=10, num_features=4)
    labels = leakage.bits_to_labels(bits, cfg)
    assert labels.max() < 8 and labels.size == -(-bits.size // 3)
    np.testing.assert_array_equal(leakage.labels_to_bits(labels, bits.size, cfg), bits)


def test_penalties_do_what_they_say():
    s = jnp.array([0.1, 0.5, 0.9, 0.3])
    w = jnp.ones(4)
    assert float(leakage.correlation_penalty(2 * s + 1, s, w)) == pytest.approx(-1.0, abs=1e-5)
    assert float(leakage.correlation_penalty(-s, s, w)) == pytest.approx(1.0, abs=1e-5)
    signs = jnp.array([1.0, -1.0, 1.0, -1.0])
    assert float(leakage.sign_penalty(signs * 0.5, signs, w)) == 0.0
    assert float(leakage.sign_penalty(-signs * 0.5, signs, w)) == pytest.approx(0.5)
    # Masked entries do not count; an empty mask gives 0.
    assert float(leakage.sign_penalty(-signs, signs, jnp.zeros(4))) == 0.0


def test_bad_inputs_name_the_argument(digits):
    model, train, _ = digits
    with pytest.raises(ValueError, match="'lsb', 'correlation', 'sign'"):
        EncodingConfig(method="steganography")
    with pytest.raises(ValueError, match="lam"):
        EncodingConfig(lam=-1.0)
    with pytest.raises(ValueError, match="secret in"):
        encode_secret(jax.random.key(0), model, (train.x, train.y), train.x[:2] * 3,
                      EncodingConfig(epochs=1))
    with pytest.raises(ValueError, match="at most 18 secret images"):
        encode_secret(jax.random.key(0), model, (train.x, train.y), train.x[:40],
                      EncodingConfig(epochs=1))
    with pytest.raises(ValueError, match="num_images <= 2"):
        encode_secret(jax.random.key(0), model, (train.x, train.y), train.x[:2],
                      EncodingConfig(epochs=1, num_images=5))
    with pytest.raises(ValueError, match="data\\[1\\]"):
        encode_secret(jax.random.key(0), model, (train.x, train.y + 10), train.x[:2],
                      EncodingConfig(epochs=1))
    params = model.init(jax.random.key(0), train.x[:1])
    with pytest.raises(ValueError, match="at most 18 images"):
        decode_secret(None, params, (19, 64), EncodingConfig(method="sign"))
    with pytest.raises(ValueError, match="num_classes"):
        CapacityConfig(num_classes=1, num_features=4)
    with pytest.raises(ValueError, match="0/1"):
        leakage.bits_to_labels(np.array([0, 2, 1]), CapacityConfig(num_classes=4,
                                                                   num_features=2))
    with pytest.raises(ValueError, match="images in"):
        leakage.images_to_bits(np.array([[1.5]]), 4)
    oracle = Oracle.from_model(model.apply, params)
    with pytest.raises(ValueError, match="Oracle"):
        capacity_abuse_recover(jax.random.key(0), (model.apply, params), 8,
                               CapacityConfig(num_classes=10, num_features=64))
    leaf = Oracle(lambda x: jnp.zeros(x.shape[0], jnp.int32), raw="leaf")
    with pytest.raises(AccessError):
        capacity_abuse_recover(jax.random.key(0), leaf, 8,
                               CapacityConfig(num_classes=10, num_features=64))
    assert oracle.queries == 0
