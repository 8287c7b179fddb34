"""Privacy-utility sweeps: one defence, a grid of its hyperparameter, one program.

``run_sweep`` trains a target for every value of one defence's
hyperparameter (MID's lambda, DP-SGD's noise multiplier, the L2 weight, or the
number of decimals the output is rounded to) as ONE vmapped program, then
runs the attack suite on every setting and writes a privacy-utility table
(CSV and Markdown) and plot:

* utility: train and test accuracy, expected calibration error (test);
* model inversion: MI-Face (:func:`jaxpriv.attacks.mi_face`, Fredrikson et
  al. CCS 2015) on every label; success is the share of labels whose
  reconstruction an independent evaluation classifier identifies as the
  right person (the "attack accuracy" of Wang, Zhang, Jia, AAAI 2021, Sec. 6);
* membership inference: threshold attacks of
  :mod:`jaxpriv.attacks.membership` (loss, Yeom et al., CSF 2018; modified
  entropy, Song and Mittal, USENIX Security 2021) on members vs held-out
  non-members (AUC, advantage, TPR at 1% FPR);
* DP settings also report epsilon at ``delta`` from ``dp-accounting``.

Scale: the grid axis is sharded over a ``jax.sharding.Mesh`` of every device
(``jax.devices()``: forced host devices on CPU, GPUs, or the devices of all
processes after ``jax.distributed.initialize``). Each process then attacks
the settings its devices trained and saves one JSON file per setting as it
finishes; process 0 waits for all of them and writes the table. A sweep run
again with the same config and ``out_dir`` only computes the settings that
are missing (``chunk_size`` bounds how many train at once, so an interrupted
sweep loses at most one chunk).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import pathlib
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxpriv import _parallel, _validate, data, metrics, models, training
from jaxpriv._progress import progress_bar
from jaxpriv.defenses import _dpsgd, _mid, _trainer
from jaxpriv.results import load_json, save_json
from jaxpriv.training import _wide

DEFENSES = ("mid", "dp", "l2", "round")
PARAMETER = {"mid": "lambda", "dp": "noise_multiplier", "l2": "l2", "round": "decimals"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """A sweep over one defence's hyperparameter.

    Attributes:
      defense: ``"mid"`` (lambda), ``"dp"`` (noise multiplier), ``"l2"``
        (weight) or ``"round"`` (decimals of the released confidences).
      values: the grid, one value per setting.
      dataset: one of ``jaxpriv.data.DATASETS`` with class labels.
      model: target architecture for dp / l2 / round (``jaxpriv.models.MODELS``);
        ``mid`` always trains the information-bottleneck network.
      hidden: hidden widths (MLP, and the MID encoder).
      bottleneck: MID code size.
      steps, batch_size, learning_rate, optimizer: training (every setting).
      first_layer: ``"auto"``, ``"dense"`` or ``"gram"``
        (:class:`jaxpriv.defenses.StepConfig`): with ``defense="mid"`` and
        ``optimizer`` ``"sgd"`` or ``"momentum"``, ``"auto"`` trains the first
        kernel in the span of the member rows when the input is wider than the
        number of members (the same models, far cheaper steps).
      sampling: minibatch sampling (default: ``"poisson"`` for dp, else ``"fixed"``).
      clip_norm: DP-SGD clipping norm.
      delta: DP delta for the reported epsilon.
      member_fraction, nonmember_fraction: shares of rows for training (members)
        and held-out non-members; the rest is test data.
      inversion_steps, inversion_lr: MI-Face's alpha and step size.
      inversion_labels: how many labels to invert (default: all).
      evaluator_iterations: L-BFGS iterations of the evaluation classifier.
      same_init: every setting starts from the same initialisation and draws
        the same per-model randomness (common random numbers), so differences
        between settings come from the hyperparameter alone; the program then
        draws them once for the whole grid. False gives each setting its own key.
      chunk_size: settings trained per program (default: all at once).
      seed: root PRNG seed.
      data_dir: shared data directory (default ``JAXPRIV_DATA``).
      smoke: tiny sizes (tests and notebooks in CI).
      progress: progress bars.
    """

    defense: str = "mid"
    values: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1)
    dataset: str = "att_faces"
    model: str = "mlp"
    hidden: tuple[int, ...] = (256,)
    bottleneck: int = 64
    steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    first_layer: str = "auto"
    sampling: str | None = None
    clip_norm: float = 1.0
    delta: float = 1e-5
    member_fraction: float = 0.5
    nonmember_fraction: float = 0.25
    inversion_steps: int = 300
    inversion_lr: float = 1.0
    inversion_labels: int | None = None
    evaluator_iterations: int = 200
    same_init: bool = True
    chunk_size: int | None = None
    seed: int = 0
    data_dir: str | None = None
    smoke: bool = False
    progress: bool = True

    def __post_init__(self):
        _validate.one_of("defense", self.defense, DEFENSES)
        _validate.one_of("dataset", self.dataset, data.DATASETS)
        _validate.one_of("model", self.model, models.MODELS)
        vals = _validate.array("values", np.asarray(self.values, np.float64), ndim=1)
        _validate.positive("values", vals, allow_zero=self.defense != "dp")
        if self.defense == "round" and np.any(vals != np.round(vals)):
            raise ValueError(f"Expected integer values (decimals) for defense='round'; "
                             f"got values={self.values}.")
        _validate.positive("steps", self.steps)
        _validate.positive("batch_size", self.batch_size)
        _validate.positive("learning_rate", self.learning_rate)
        _validate.positive("clip_norm", self.clip_norm)
        _validate.in_range("delta", self.delta, 1e-300, 0.5)
        _validate.in_range("member_fraction", self.member_fraction, 0.01, 0.98)
        _validate.in_range("nonmember_fraction", self.nonmember_fraction, 0.01, 0.98)
        if self.member_fraction + self.nonmember_fraction >= 1.0:
            raise ValueError("Expected member_fraction + nonmember_fraction < 1 (the rest is "
                             f"test data); got {self.member_fraction} + "
                             f"{self.nonmember_fraction}.")
        _validate.positive("inversion_steps", self.inversion_steps)
        _validate.positive("evaluator_iterations", self.evaluator_iterations)
        _validate.positive("inversion_lr", self.inversion_lr)
        if self.inversion_labels is not None:
            _validate.positive("inversion_labels", self.inversion_labels)
        if self.chunk_size is not None:
            _validate.positive("chunk_size", self.chunk_size)
        if self.sampling is not None:
            _validate.one_of("sampling", self.sampling, _trainer.SAMPLINGS)
        _trainer.StepConfig(optimizer=self.optimizer, first_layer=self.first_layer)
        if self.first_layer == "gram" and (self.defense != "mid" or self.optimizer == "adam"):
            raise ValueError("Expected defense='mid' and optimizer='sgd' or 'momentum' with "
                             f"first_layer='gram'; got defense={self.defense!r}, "
                             f"optimizer={self.optimizer!r}.")

    def fingerprint(self) -> str:
        """A hash of everything that changes the numbers (not chunking/progress)."""
        d = dataclasses.asdict(self)
        for k in ("chunk_size", "progress", "data_dir"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def smoke_config(**overrides) -> SweepConfig:
    """A tiny sweep on the bundled digits (seconds on a CPU)."""
    kw = dict(defense="mid", values=(0.0, 0.01, 0.1, 1.0), dataset="digits", hidden=(32,),
              bottleneck=8, steps=60, batch_size=32, learning_rate=3e-3,
              inversion_steps=30, inversion_labels=4, evaluator_iterations=50, smoke=True,
              progress=False)
    kw.update(overrides)
    return SweepConfig(**kw)


# ----------------------------------------------------------------------------- pieces


@functools.lru_cache(maxsize=16)
def _plain_grad_fn(apply_fn):
    """Mean cross-entropy + ``l2/2 |w|^2`` (kernels) gradient, for L2 / rounding sweeps."""

    def loss(params, xb, yb, wb, l2):
        per = training.per_example_loss("cross_entropy", apply_fn(params, xb), yb)
        data_loss = jnp.sum(wb * per) / jnp.maximum(jnp.sum(wb), 1.0)
        return data_loss + l2 * training.l2_penalty(params), data_loss

    def grad_fn(params, key, xb, yb, wb, h, denom):
        del key, denom
        (_, dl), g = jax.value_and_grad(loss, has_aux=True)(params, xb, yb, wb, h["l2"])
        return g, dl

    return grad_fn


@functools.lru_cache(maxsize=16)
def _plain_gram_spec(stack) -> _trainer.GramSpec:
    """The :class:`_trainer.GramSpec` of :func:`_plain_grad_fn` for jaxpriv's
    softmax regression and MLP (``stack``: their ``training._wide.DenseStack``):
    the same loss given the first layer's product, so L2 and rounding sweeps
    take the trainer's Gram path (SGD, momentum) or its one-matmul first layer
    (Adam) like MID's."""
    first = stack.layers[0]

    def loss(params, pre, yb, wb, l2):
        per = training.per_example_loss("cross_entropy", stack.logits_from_pre(params, pre), yb)
        data_loss = jnp.sum(wb * per) / jnp.maximum(jnp.sum(wb), 1.0)
        return data_loss + l2 * training.l2_penalty(params), data_loss

    def pre_grad_fn(params, key, pre, yb, wb, h, denom):
        del key, denom
        rest = stack.without_first_kernel(params)
        (_, dl), (g, g_pre) = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)(
            rest, pre, yb, wb, h["l2"])
        return g, g_pre, dl   # no first-kernel entry: the trainer forms it

    return _trainer.GramSpec((first, "kernel"), pre_grad_fn)


class _Problem:
    """Data, split, model and per-setting hyperparameters of one sweep."""

    def __init__(self, config: SweepConfig):
        c = config
        root = jax.random.key(c.seed)
        ds = data.load(c.dataset, data_dir=c.data_dir)
        if ds.num_classes < 2:
            raise ValueError(f"Expected a classification dataset; {c.dataset!r} has "
                             f"num_classes={ds.num_classes}.")
        if c.smoke and len(ds) > 600:
            keep = np.asarray(jax.random.permutation(jax.random.fold_in(root, 99), len(ds)))
            ds = ds.subset(np.sort(keep[:600]))
        n = len(ds)
        n_mem = int(c.member_fraction * n)
        n_non = int(c.nonmember_fraction * n)
        self.ds = ds
        self.split = data.split(jax.random.fold_in(root, 1), n, n_members=n_mem,
                                n_nonmembers=n_non, n_test=n - n_mem - n_non, stratify=ds.y)
        d, k = ds.num_features, ds.num_classes
        if c.defense == "mid":
            self.model = _mid.make_mid_model(num_features=d, num_classes=k, hidden=c.hidden,
                                             bottleneck=c.bottleneck)
        else:
            self.model = models.make_model(c.model, num_features=d, num_classes=k,
                                           hidden=c.hidden, image_shape=ds.image_shape)
        sampling = c.sampling or ("poisson" if c.defense == "dp" else "fixed")
        self.step_config = _trainer.StepConfig(
            steps=c.steps, batch_size=min(c.batch_size, n_mem), sampling=sampling,
            optimizer=c.optimizer, first_layer=c.first_layer,
            steps_per_call=c.steps, progress=False)
        self.gram = None
        if c.defense == "mid":
            self.grad_fn = _mid.mid_grad_fn(self.model)
            self.gram = _mid.mid_gram_spec(self.model)
        elif c.defense == "dp":
            self.grad_fn = _dpsgd.dp_grad_fn_for(self.model)
        else:
            self.grad_fn = _plain_grad_fn(self.model.apply)
            stack = _wide.dense_stack(self.model)
            self.gram = None if stack is None else _plain_gram_spec(stack)
        self.values = np.asarray(c.values, np.float64)
        self.root = root
        self.config = c
        self._train_fn = None
        self._stages = None
        self._evaluator = None

    def evaluator(self) -> "_Evaluator":
        if self._evaluator is None:
            self._evaluator = _Evaluator(self)
        return self._evaluator

    def train_fn(self):
        """The training of a chunk of settings, to jit (built once per sweep):
        ``train(key_data [m, 2] or [2] (one key for all), hyper, data_key_data,
        x_members, y_members) -> (params [m, ...], loss [m, steps])``."""
        if self._train_fn is None:
            init, finish = self._parts()

            def train(key_data, hyper, data_key_data, xm, ym):
                state = init(key_data, xm, hyper["learning_rate"].shape[0])
                return finish(state, key_data, hyper, data_key_data, xm, ym)

            self._train_fn = train
        return self._train_fn

    def _parts(self):
        """:meth:`train_fn` in two pure parts: ``init(key_data, x_members, m)
        -> state`` and ``finish(state, key_data, hyper, data_key_data,
        x_members, y_members, per_model=False) -> (params [m, ...], loss [m,
        steps])``, or with ``per_model`` a tuple of ``(params, loss [steps])``,
        one per setting."""
        init, run, leading = _trainer.make_trainer(self.model.init, self.grad_fn,
                                                   self.step_config, self.gram)
        steps = self.step_config.steps

        def keys_of(key_data):
            if key_data.ndim == 1:
                return jax.random.wrap_key_data(key_data)
            return jax.vmap(jax.random.wrap_key_data)(key_data)

        def finish(state, key_data, hyper, data_key_data, xm, ym, per_model=False):
            state, loss = run(state, keys_of(key_data), jax.random.wrap_key_data(
                data_key_data), hyper, xm, ym, steps)
            if per_model:
                return tuple(zip(leading(state, xm, per_model=True), loss))
            return leading(state, xm), loss

        return (lambda key_data, xm, m: init(keys_of(key_data), xm, m)), finish

    def stages(self):
        """The two parts of :meth:`_parts`, jitted (``m`` static), so that
        settings sharing one key share one initialisation; ``finish`` returns
        one ``(params, loss)`` per setting."""
        if self._stages is None:
            init, finish = self._parts()
            self._stages = (jax.jit(init, static_argnums=2),
                            jax.jit(functools.partial(finish, per_model=True)))
        return self._stages

    def hyper(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        v = self.values[idx].astype(np.float32)
        m = idx.size
        c = self.config
        base = {"learning_rate": np.full(m, c.learning_rate, np.float32)}
        if c.defense == "mid":
            base.update(lam=v, l2=np.zeros(m, np.float32))
        elif c.defense == "dp":
            base.update(noise_multiplier=v, clip_norm=np.full(m, c.clip_norm, np.float32),
                        l2=np.zeros(m, np.float32))
        elif c.defense == "l2":
            base.update(l2=v)
        else:
            base.update(l2=np.zeros(m, np.float32))
        return base

    @property
    def shared_key(self) -> bool:
        """Whether every setting trains from one key (then drawn once per program)."""
        # Rounding only changes the released outputs: every setting is one model.
        return self.config.same_init or self.config.defense == "round"

    def key_data(self, idx: np.ndarray) -> np.ndarray:
        """Raw key data of the training keys: ``[2]`` (one key for every
        setting, :attr:`shared_key`) or ``[m, 2]`` (one per setting)."""
        train_root = jax.random.fold_in(self.root, 2)
        if self.shared_key:
            return np.asarray(jax.random.key_data(jax.random.fold_in(train_root, 0)))
        return np.stack([np.asarray(jax.random.key_data(jax.random.fold_in(train_root, int(i))))
                         for i in idx])


_PROBLEMS: dict[tuple, _Problem] = {}


def _problem(config: SweepConfig) -> _Problem:
    """The sweep's data, model and compiled programs, kept for the last few
    configs so that a resumed sweep in the same process compiles nothing."""
    key = (config.fingerprint(), config.data_dir)
    if key not in _PROBLEMS:
        if len(_PROBLEMS) >= 4:
            _PROBLEMS.pop(next(iter(_PROBLEMS)))
        _PROBLEMS[key] = _Problem(config)
    return _PROBLEMS[key]


def _mesh() -> Mesh:
    return Mesh(np.asarray(jax.devices()), ("grid",))


def _global(arr: np.ndarray, sharding: NamedSharding) -> jax.Array:
    arr = np.asarray(arr)
    return jax.make_array_from_callback(arr.shape, sharding, lambda index: arr[index])


def _members(problem: _Problem):
    return (problem.ds.x[problem.split.members].astype(np.float32),
            problem.ds.y[problem.split.members].astype(np.int32))


def train_settings(problem: _Problem, idx: np.ndarray) -> list[tuple[Any, jax.Array]]:
    """Trains the settings ``idx`` on the default device: ``[(params, loss
    [steps]), ...]``, one per setting, in the order of ``idx``. One vmapped
    program; on a CPU the settings are split into one chunk per host thread
    and the chunks run at once (``jaxpriv._parallel``; measured on the 2-core
    machine: a 16-setting MID sweep 1.8x faster as two chunks of 8 than as one
    call). Each setting's parameters come out in buffers of their own, never
    stacked (for a faces sweep a concatenation of the chunks alone took a sixth
    of the training time, and writing a chunk's first kernels into one
    ``[m, d, h]`` buffer about 8%). The models do not depend on the split."""
    idx = _validate.array("idx", idx, ndim=1, dtype_kind="iu")
    if idx.min() < 0 or idx.max() >= problem.values.size:
        raise ValueError(f"Expected idx in [0, {problem.values.size}) (the sweep's settings); "
                         f"got values from {idx.min()} to {idx.max()}.")
    xm, ym = (jnp.asarray(a) for a in _members(problem))
    dkd = jnp.asarray(jax.random.key_data(jax.random.fold_in(problem.root, 3)))
    init, finish = problem.stages()
    per = _parallel.split(idx.size)
    # The last chunk is padded (repeats its last setting): one program for all.
    parts = _parallel.padded_chunks(idx.size, per)
    # Settings that share one key share its initialisation: drawn once.
    shared = (init(jnp.asarray(problem.key_data(idx[:1])), xm, per)
              if problem.shared_key else None)

    def part(chunk):
        pos, live = chunk
        sub = idx[pos]
        kd = jnp.asarray(problem.key_data(sub))
        state = shared if shared is not None else init(kd, xm, per)
        hyper = {k: jnp.asarray(v) for k, v in problem.hyper(sub).items()}
        return finish(state, kd, hyper, dkd, xm, ym)[:live]

    return [one for chunk in _parallel.map_chunks(part, parts) for one in chunk]


def _train_chunk(problem: _Problem, idx: np.ndarray, mesh: Mesh):
    """Trains the settings ``idx`` (length a multiple of the mesh size) as one
    sharded program; returns ``{global position: params (NumPy tree)}`` for
    the positions this process holds."""
    if mesh.devices.size == 1:  # one device: host-thread chunks on a CPU
        return {pos: jax.tree_util.tree_map(np.asarray, params)
                for pos, (params, _) in enumerate(train_settings(problem, idx))}
    sh = NamedSharding(mesh, P("grid"))
    rep = NamedSharding(mesh, P())
    xm, ym = _members(problem)
    hyper = problem.hyper(idx)
    kd = problem.key_data(idx)
    dkd = np.asarray(jax.random.key_data(jax.random.fold_in(problem.root, 3)))
    if getattr(problem, "_jitted", (None,))[0] is not mesh:
        problem._jitted = (mesh, jax.jit(problem.train_fn(), out_shardings=(sh, sh)))
    fn = problem._jitted[1]
    params, _ = fn(_global(kd, rep if kd.ndim == 1 else sh),
                   {k: _global(v, sh) for k, v in hyper.items()},
                   _global(dkd, rep), _global(xm, rep), _global(ym, rep))
    local: dict[int, Any] = {}
    leaves, treedef = jax.tree_util.tree_flatten(params)
    # Every leaf is sharded the same way along its leading axis.
    for li, leaf in enumerate(leaves):
        for shard in leaf.addressable_shards:
            start = shard.index[0].start or 0
            block = np.asarray(shard.data)
            for j in range(block.shape[0]):
                local.setdefault(start + j, [None] * len(leaves))[li] = block[j]
    return {pos: jax.tree_util.tree_unflatten(treedef, ls) for pos, ls in local.items()}


class _Evaluator:
    """Everything measured on one trained setting (host side + cached jits)."""

    def __init__(self, problem: _Problem):
        from jaxpriv.attacks import MIFaceConfig

        c = problem.config
        self.p = problem
        ds, sp = problem.ds, problem.split
        self.x_mem, self.y_mem = ds.x[sp.members], ds.y[sp.members]
        self.x_non, self.y_non = ds.x[sp.nonmembers], ds.y[sp.nonmembers]
        self.x_te, self.y_te = ds.x[sp.test], ds.y[sp.test]
        apply = problem.model.apply
        self._probs = jax.jit(lambda params, x: jax.nn.softmax(apply(params, x), axis=-1))
        # The evaluation classifier (an independent multinomial logistic
        # regression, scikit-learn) sees every real row, never a reconstruction.
        from sklearn.linear_model import LogisticRegression

        ev = LogisticRegression(C=1.0, max_iter=c.evaluator_iterations, tol=1e-3)
        ev.fit(ds.x, ds.y)
        self._ev = lambda x: ev.classes_[ev.predict_proba(np.asarray(x)).argmax(axis=1)]
        self.evaluator_accuracy = float(ev.score(self.x_te, self.y_te))
        nl = ds.num_classes if c.inversion_labels is None else min(c.inversion_labels,
                                                                   ds.num_classes)
        self.labels = np.arange(nl, dtype=np.int32)
        self.mi_config = MIFaceConfig(num_features=ds.num_features, alpha=c.inversion_steps,
                                      beta=0, learning_rate=c.inversion_lr)
        self.n_members = int(sp.members.size)

    def _release(self, probs: np.ndarray, value: float) -> np.ndarray:
        if self.p.config.defense != "round":
            return probs
        scale = 10.0 ** int(value)
        return np.round(probs * scale) / scale

    def __call__(self, key: jax.Array, params: Any,
                 value: float) -> tuple[dict[str, Any], np.ndarray]:
        from jaxpriv.attacks import mi_face, mi_face_blackbox
        from jaxpriv.attacks.membership import membership_scores
        from jaxpriv.oracles import Oracle, round_outputs

        c = self.p.config
        out: dict[str, Any] = {}
        pm = self._release(np.asarray(self._probs(params, self.x_mem), np.float64), value)
        pn = self._release(np.asarray(self._probs(params, self.x_non), np.float64), value)
        pt = np.asarray(self._probs(params, self.x_te), np.float64)
        out["train_accuracy"] = metrics.accuracy(pm.argmax(1), self.y_mem)
        out["test_accuracy"] = metrics.accuracy(pt.argmax(1), self.y_te)
        pt_rel = self._release(pt, value)
        pt_rel = pt_rel / np.maximum(pt_rel.sum(1, keepdims=True), 1e-12)
        out["test_ece"] = metrics.expected_calibration_error(pt_rel, self.y_te)
        # Threshold membership inference on the released outputs
        # (jaxpriv.attacks.membership): loss (Yeom et al.) and modified entropy
        # (Song and Mittal).
        s_in = np.asarray(membership_scores(pm, self.y_mem, ("loss", "modified_entropy")))
        s_out = np.asarray(membership_scores(pn, self.y_non, ("loss", "modified_entropy")))
        rep = metrics.membership_report(s_in[0], s_out[0])
        out["membership_auc"] = rep["auc"]
        out["membership_advantage"] = rep["advantage"]
        out["membership_tpr_at_1%_fpr"] = rep["tpr_at_1%_fpr"]
        out["membership_auc_modified_entropy"] = metrics.roc_auc(s_in[1], s_out[1])
        # MI-Face on every label; identified when the evaluator names the label.
        if c.defense == "round":
            oracle = Oracle.from_model(self.p.model.apply, params,
                                       defenses=[round_outputs(int(value))],
                                       input_shape=(self.p.ds.num_features,))
            res = mi_face_blackbox(key, oracle, self.labels, self.mi_config)
            out["inversion_queries"] = int(oracle.queries)
        else:
            res = mi_face(key, (self.p.model.apply, params), self.labels, self.mi_config)
            out["inversion_queries"] = 0
        pred = np.asarray(self._ev(res.x))
        out["inversion_identification"] = float(np.mean(pred == self.labels))
        out["inversion_confidence"] = float(np.mean(np.exp(np.asarray(res.log_prob))))
        if c.defense == "dp":
            out["epsilon"] = _dpsgd.dp_epsilon(
                noise_multiplier=float(value), steps=c.steps, num_examples=self.n_members,
                batch_size=self.p.step_config.batch_size, delta=c.delta,
                sampling=self.p.step_config.sampling)
            out["delta"] = c.delta
        return out, np.asarray(res.x)


# ----------------------------------------------------------------------------- driver


def _setting_path(out_dir: pathlib.Path, i: int) -> pathlib.Path:
    return out_dir / "settings" / f"setting_{i:03d}.json"


def _load_done(out_dir: pathlib.Path, fp: str, k: int) -> dict[int, dict]:
    done = {}
    for i in range(k):
        path = _setting_path(out_dir, i)
        if path.exists():
            try:
                row = load_json(path)
            except (OSError, ValueError):
                continue
            if row.get("fingerprint") == fp:
                done[i] = row
    return done


def _sync(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def run_sweep(config: SweepConfig, out_dir: str | pathlib.Path, *,
              on_setting: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Runs a sweep; writes ``settings/``, ``results.json``, ``table.csv``,
    ``table.md`` and ``privacy_utility.png`` in ``out_dir``.

    Args:
      config: :class:`SweepConfig`.
      out_dir: results folder; finished settings found there (same config) are
        reused.
      on_setting: called with each setting's row once it is saved.

    Returns:
      ``{"config", "rows" (one dict per setting, in grid order), "computed"
      (the settings this call trained), "devices", "processes", "seconds"}``.
      In a multi-process run, every process returns the full table.

    Example:
      >>> res = run_sweep(SweepConfig(defense="mid", values=(0., .01, .1)), "results/mid")
    """
    t0 = time.time()
    out_dir = pathlib.Path(out_dir)
    fp = config.fingerprint()
    k = len(config.values)
    if jax.process_index() == 0:
        (out_dir / "settings").mkdir(parents=True, exist_ok=True)
        save_json(out_dir / "sweep_config.json", {"fingerprint": fp, "config": config})
    _sync("jaxpriv-sweep-start")
    done = _load_done(out_dir, fp, k)
    missing = np.asarray([i for i in range(k) if i not in done], np.int64)
    problem = _problem(config)
    mesh = _mesh()
    ndev = mesh.devices.size
    chunk = k if config.chunk_size is None else config.chunk_size
    chunk = int(math.ceil(max(chunk, 1) / ndev) * ndev)
    computed: list[int] = []
    if missing.size:
        evaluator = problem.evaluator()
        starts = list(range(0, missing.size, chunk))
        with progress_bar(missing.size, f"sweep {config.defense} x{missing.size}",
                          config.progress) as bar:
            for s in starts:
                idx = missing[s:s + chunk]
                pad = (-idx.size) % ndev
                padded = np.concatenate([idx, np.repeat(idx[-1:], pad)])
                local = _train_chunk(problem, padded, mesh)
                for pos in sorted(local):
                    if pos >= idx.size:
                        continue
                    i = int(idx[pos])
                    value = float(problem.values[i])
                    key = jax.random.fold_in(jax.random.fold_in(problem.root, 4), i)
                    row, recon = evaluator(key, local[pos], value)
                    row = {"index": i, "defense": config.defense,
                           "parameter": PARAMETER[config.defense], "value": value,
                           "evaluator_accuracy": evaluator.evaluator_accuracy, **row,
                           "fingerprint": fp}
                    save_json(_setting_path(out_dir, i), row)
                    np.save(out_dir / "settings" / f"inversion_{i:03d}.npy",
                            recon.astype(np.float16))
                    computed.append(i)
                    if on_setting is not None:
                        on_setting(row)
                bar.update(idx.size)
    _sync("jaxpriv-sweep-done")
    done = _load_done(out_dir, fp, k)
    if len(done) != k:
        raise RuntimeError(f"Sweep incomplete: settings {sorted(set(range(k)) - set(done))} "
                           f"missing in {out_dir / 'settings'}.")
    rows = [done[i] for i in range(k)]
    result = {"config": dataclasses.asdict(config), "rows": rows, "computed": sorted(computed),
              "devices": int(ndev), "processes": int(jax.process_count()),
              "seconds": time.time() - t0}
    if jax.process_index() == 0:
        save_json(out_dir / "results.json", result)
        write_table(rows, out_dir)
        plot_sweep(rows, out_dir / "privacy_utility.png")
    return result


COLUMNS = ("value", "epsilon", "train_accuracy", "test_accuracy", "test_ece",
           "inversion_identification", "inversion_confidence", "membership_auc",
           "membership_advantage")


def write_table(rows: list[dict], out_dir: str | pathlib.Path) -> None:
    """``table.csv`` and ``table.md``: one line per setting."""
    out_dir = pathlib.Path(out_dir)
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    head = [rows[0]["parameter"] if c == "value" else c for c in cols]

    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = [",".join(head)] + [",".join(fmt(r.get(c, "")) for c in cols) for r in rows]
    (out_dir / "table.csv").write_text("\n".join(lines) + "\n")
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    (out_dir / "table.md").write_text("\n".join(md) + "\n")


def plot_sweep(rows: list[dict], path: str | pathlib.Path, title: str | None = None) -> None:
    """Two panels: attack success and utility against the hyperparameter, and
    utility against attack success (the privacy-utility trade-off)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    v = np.asarray([r["value"] for r in rows], np.float64)
    ident = np.asarray([r["inversion_identification"] for r in rows])
    auc = np.asarray([r["membership_auc"] for r in rows])
    acc = np.asarray([r["test_accuracy"] for r in rows])
    ece = np.asarray([r["test_ece"] for r in rows])
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    xs = v.copy()
    log = rows[0]["defense"] != "round" and np.all(v >= 0) and np.any(v > 0)
    if log:
        pos = v[v > 0]
        xs = np.where(v > 0, v, pos.min() / 10 if pos.size else 1e-4)
        a.set_xscale("log")
    a.plot(xs, ident, "o-", label="MI-Face identification")
    a.plot(xs, auc, "s-", label="membership AUC (loss threshold)")
    a.plot(xs, acc, "^-", label="test accuracy")
    a.plot(xs, ece, "v--", label="test ECE")
    a.set_xlabel(rows[0]["parameter"] + (" (0 drawn at the left edge)" if log and
                                          np.any(v == 0) else ""))
    a.set_ylim(-0.02, 1.02)
    a.legend(fontsize=8)
    a.set_title(title or f"{rows[0]['defense']} sweep")
    b.plot(ident, acc, "o-", label="test accuracy")
    b.plot(ident, ece, "v--", label="test ECE")
    for r, x_, y_ in zip(rows, ident, acc):
        b.annotate(f"{r['value']:g}", (x_, y_), fontsize=7)
    b.set_xlabel("MI-Face identification (attack success)")
    b.set_ylabel("utility")
    b.legend(fontsize=8)
    b.set_title("privacy-utility")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
