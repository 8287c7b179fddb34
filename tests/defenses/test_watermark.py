"""Watermarking by backdooring (Adi et al., USENIX Security 2018)."""

import jax
import numpy as np
import pytest

from jaxpriv import data, models, training
from jaxpriv.defenses import (MarkConfig, MarkingKey, VerificationKey, commit, keygen, mark,
                              remove_by_finetuning, trigger_accuracy, verify)
from jaxpriv.oracles import Oracle, label_only


@pytest.fixture(scope="module")
def setup():
    ds = data.load("digits")
    sp = data.split(jax.random.key(0), len(ds), n_members=1200, n_test=597, stratify=ds.y)
    model = models.make_model("mlp", num_features=64, num_classes=10, hidden=(128,))
    tc = training.TrainConfig(epochs=25, batch_size=64)
    x, y = ds.x[sp.members], ds.y[sp.members]
    clean, _ = training.fit(jax.random.key(1), model, x, y, tc,
                            training.Hyper(learning_rate=3e-3))
    mk, vk = keygen(jax.random.key(2), num_triggers=50, num_features=64, num_classes=10)
    marked = mark(jax.random.key(1), model, x, y, mk,
                  MarkConfig(train=tc, learning_rate=3e-3, trigger_repeats=5))
    return ds, sp, model, clean, marked, mk, vk


def _acc(model, params, ds, idx):
    return training.accuracy(model.apply, params, ds.x[idx], ds.y[idx])


def test_mark_from_scratch_keeps_accuracy_and_embeds_triggers(setup):
    ds, sp, model, clean, marked, mk, vk = setup
    acc_clean, acc_marked = _acc(model, clean, ds, sp.test), _acc(model, marked, ds, sp.test)
    assert abs(acc_clean - acc_marked) <= 0.01
    assert trigger_accuracy((model.apply, marked), mk) >= 0.95
    assert trigger_accuracy((model.apply, clean), mk) <= 0.3          # near chance (0.1)
    res = verify((model.apply, marked), mk, vk, epsilon=0.05)
    assert res.accepted and res.commitments_ok and res.queries == 50
    assert not verify((model.apply, clean), mk, vk, epsilon=0.05).accepted
    # Black-box verification through a label-only oracle counts its queries.
    oracle = Oracle.from_model(model.apply, marked, defenses=[label_only()])
    assert verify(oracle, mk, vk).accepted and oracle.queries == 50


def test_mark_by_finetuning_and_removal(setup):
    ds, sp, model, clean, marked, mk, vk = setup
    ft = mark(jax.random.key(3), model, ds.x[sp.members], ds.y[sp.members], mk,
              MarkConfig(train=training.TrainConfig(epochs=10, batch_size=64),
                         learning_rate=3e-3, trigger_repeats=10), params=clean)
    assert trigger_accuracy((model.apply, ft), mk) >= 0.95
    assert abs(_acc(model, ft, ds, sp.test) - _acc(model, clean, ds, sp.test)) <= 0.02
    # Fine-tuning on clean data (the removal attack of Sec. 5) keeps most of the mark.
    removed = remove_by_finetuning(jax.random.key(4), model, marked, ds.x[sp.test[:300]],
                                   ds.y[sp.test[:300]], training.TrainConfig(epochs=5,
                                                                             batch_size=32))
    assert trigger_accuracy((model.apply, removed), mk) >= 0.5


def test_verify_rejects_wrong_key_and_forged_commitment(setup):
    ds, sp, model, clean, marked, mk, vk = setup
    target = (model.apply, marked)
    other_mk, _ = keygen(jax.random.key(9), num_triggers=50, num_features=64, num_classes=10)
    wrong = verify(target, other_mk, vk)
    assert not wrong.accepted and not wrong.commitments_ok and wrong.queries == 0
    forged_vk = VerificationKey(vk.commitments[:-1] + ("0" * 64,))
    res = verify(target, mk, forged_vk)
    assert not res.accepted and res.bad_commitments == 1
    # Claiming other labels for the same triggers does not open the commitments.
    relabeled = mk._replace(labels=(mk.labels + 1) % 10)
    assert not verify(target, relabeled, vk).accepted
    # A forger who commits to a model's own answers still needs the nonces of vk.
    fake = MarkingKey(mk.triggers, mk.labels, np.zeros_like(mk.nonces))
    assert not verify(target, fake, vk).commitments_ok
    assert len(vk.commitments) == 50 and len(set(vk.commitments)) == 50
    assert commit(mk.triggers[0], int(mk.labels[0]), mk.nonces[0].tobytes()) == vk.commitments[0]


def test_keygen_determinism_and_errors():
    a, va = keygen(jax.random.key(0), num_triggers=5, num_features=4, num_classes=3,
                   secure_nonces=False)
    b, vb = keygen(jax.random.key(0), num_triggers=5, num_features=4, num_classes=3,
                   secure_nonces=False)
    np.testing.assert_array_equal(a.triggers, b.triggers)
    assert va == vb
    c, vc = keygen(jax.random.key(0), num_triggers=5, num_features=4, num_classes=3)
    np.testing.assert_array_equal(a.triggers, c.triggers)
    assert vc != va                      # fresh OS nonces give fresh commitments
    with pytest.raises(ValueError, match="num_classes"):
        keygen(jax.random.key(0), num_triggers=5, num_features=4, num_classes=1)
    with pytest.raises(ValueError, match="epsilon"):
        verify((lambda p, x: x, None), a, va, epsilon=2.0)
