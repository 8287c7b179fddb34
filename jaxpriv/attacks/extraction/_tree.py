"""Decision-tree extraction by path finding (Tramèr et al., USENIX Security 2016, §4.2).

The oracle returns the identifier of the leaf a query reaches (BigML and
similar APIs expose it through the leaf's confidence or a node id). A leaf's
region is an axis-aligned box, so from one point of a leaf, moving one
feature at a time and watching where the id changes reveals the leaf's
interval on every feature (Algorithm 1, "complete queries"): a bisection
over the float32 numbers between a point inside and a point outside finds
the target's threshold exactly (at most 32 queries), and the first point
past each boundary lies in a neighbouring leaf, which is explored next.
Categorical features are probed code by code.

With incomplete queries (features may be left out; the tree stops at the
first node that needs a missing feature and returns that node's id), the
search runs top-down (§4.2, "top-down approach"): starting from the empty
query it finds which feature each node splits on (setting one missing
feature at a time), then the node's thresholds by bisection on that feature.

The searches of all leaves (nodes) found in one round run in lockstep: each
bisection step is one batched oracle call. The stolen model is a list of
boxes labelled with leaf ids; :func:`stolen_tree_apply` evaluates it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxpriv import _validate
from jaxpriv._progress import progress_bar
from jaxpriv.attacks.extraction._common import Domain, cached_jit, check_domain, check_oracle
from jaxpriv.models import TreeArrays
from jaxpriv.oracles import LEAF, Oracle


def tree_oracle(tree: TreeArrays, *, incomplete: bool = False, **kwargs) -> Oracle:
    """A leaf-id oracle over a :class:`jaxpriv.models.TreeArrays` tree.

    Args:
      tree: the target tree.
      incomplete: accept incomplete queries: a NaN feature is missing, and
        the descent stops at the first node that needs a missing feature,
        returning that node's id (BigML's behaviour).
      **kwargs: passed to :class:`jaxpriv.oracles.Oracle` (budget, name, ...).

    Returns:
      An oracle of kind ``"leaf"``: ``x[n, d] -> int32 node ids [n]``.
    """

    def predict(x):
        def one(row):
            def step(_, node):
                stop = tree.left[node] < 0
                v = row[jnp.maximum(tree.feature[node], 0)]
                if incomplete:
                    stop = stop | jnp.isnan(v)
                nxt = jnp.where(v <= tree.threshold[node], tree.left[node], tree.right[node])
                return jnp.where(stop, node, nxt)

            return jax.lax.fori_loop(0, tree.depth, step, jnp.int32(0))

        return jax.vmap(one)(x)

    kwargs.setdefault("name", "tree")
    return Oracle(predict, raw=LEAF, **kwargs)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TreeConfig:
    """Settings of the path-finding attack.

    Attributes:
      categorical: indices of categorical features; their values are the
        integer codes ``0 .. high`` of the domain (``low`` must be 0).
      incomplete: use incomplete queries (the oracle must accept NaN as a
        missing feature, e.g. ``tree_oracle(tree, incomplete=True)``).
      max_boxes: stop after this many leaf boxes (a guard on the budget).
      progress: show a progress bar over rounds.
    """

    categorical: tuple[int, ...] = ()
    incomplete: bool = False
    max_boxes: int = 100_000
    progress: bool = False

    def __post_init__(self):
        if len(set(self.categorical)) != len(self.categorical):
            raise ValueError(f"Expected distinct categorical feature indices; got"
                             f" {self.categorical}.")
        if any(int(j) != j or j < 0 for j in self.categorical):
            raise ValueError(f"Expected categorical feature indices >= 0; got {self.categorical}.")
        _validate.positive("max_boxes", self.max_boxes)


class TreeExtraction(NamedTuple):
    """A stolen tree: boxes labelled with the oracle's leaf ids.

    Attributes:
      leaf: int32 ``[boxes]``, the leaf id of each box.
      low: float32 ``[boxes, d]``; a point is in a box when ``x >= low`` ...
      high: float32 ``[boxes, d]``; ... and ``x <= high`` on continuous
        features (``-inf`` / ``inf`` where the leaf is unbounded) ...
      codes: bool ``[boxes, d, k]``; ... and ``codes[box, j, x_j]`` on
        categorical features ``j`` (all True on continuous features).
      queries: oracle rows spent.
      seconds: wall time.
      num_leaves: distinct leaf ids found.
    """

    leaf: jax.Array
    low: jax.Array
    high: jax.Array
    codes: jax.Array
    queries: int
    seconds: float
    num_leaves: int


def stolen_tree_apply(stolen: TreeExtraction, x: jax.Array) -> jax.Array:
    """Leaf ids the stolen tree gives ``x[n, d]`` (``-1`` outside every box). Jittable."""
    x = jnp.asarray(x, jnp.float32)
    k = stolen.codes.shape[2]
    inside = (x[:, None, :] >= stolen.low[None]) & (x[:, None, :] <= stolen.high[None])
    code = jnp.clip(jnp.nan_to_num(x), 0, k - 1).astype(jnp.int32)  # [n, d]
    code_ok = jnp.take_along_axis(
        jnp.broadcast_to(stolen.codes[None], (x.shape[0],) + stolen.codes.shape),
        jnp.broadcast_to(code[:, None, :, None], (x.shape[0], stolen.codes.shape[0],
                                                  x.shape[1], 1)), axis=3)[..., 0]
    hit = jnp.all(inside & code_ok, axis=2)  # [n, boxes]
    return jnp.where(jnp.any(hit, axis=1), stolen.leaf[jnp.argmax(hit, axis=1)], -1)


# ----------------------------------------------------------------------------
# float32 <-> ordered integers (bisection over every float32 value)
# ----------------------------------------------------------------------------

def _to_ord(v: np.ndarray) -> np.ndarray:
    b = np.asarray(v, np.float32).view(np.int32).astype(np.int64)
    return np.where(b < 0, -(b & 0x7FFFFFFF), b)


def _from_ord(o: np.ndarray) -> np.ndarray:
    o = np.asarray(o, np.int64)
    b = np.where(o < 0, (-o) | 0x80000000, o).astype(np.uint32).view(np.int32)
    return b.view(np.float32)


def _call(pure_fn, key, x):
    return pure_fn(key, x)


class _Asker:
    """Batched oracle calls (padded to powers of two so shapes repeat)."""

    def __init__(self, oracle: Oracle, d: int):
        self.oracle = oracle
        self.fn = cached_jit(_call, oracle.pure_fn)
        self.d = d

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        if n == 0:
            return np.zeros((0,), np.int64)
        self.oracle.charge(n)
        size = max(1024, 1 << max(int(np.ceil(np.log2(n))), 0))
        pad = np.concatenate([x, np.repeat(x[:1], size - n, axis=0)]) if size > n else x
        out = self.fn(self.oracle.next_key(), jnp.asarray(pad, jnp.float32))
        return np.asarray(out)[:n].astype(np.int64)


def _bisect(ask: _Asker, base: np.ndarray, feat: np.ndarray, v_in: np.ndarray,
            v_out: np.ndarray, target: np.ndarray, id_out: np.ndarray):
    """Lockstep bisections: for each row s, ``base[s]`` with feature ``feat[s]``
    set to ``v_in[s]`` reaches ``target[s]`` and set to ``v_out[s]`` does not.
    Returns the last float32 value inside, the first outside and its id."""
    o_in, o_out = _to_ord(v_in), _to_ord(v_out)
    id_out = id_out.copy()
    rows = np.arange(base.shape[0])
    while True:
        active = np.flatnonzero(np.abs(o_out - o_in) > 1)
        if active.size == 0:
            break
        mid = o_in[active] + (o_out[active] - o_in[active]) // 2
        pts = base[active].copy()
        pts[rows[:active.size], feat[active]] = _from_ord(mid)
        ids = ask(pts)
        same = ids == target[active]
        o_in[active[same]] = mid[same]
        o_out[active[~same]] = mid[~same]
        id_out[active[~same]] = ids[~same]
    return _from_ord(o_in), _from_ord(o_out), id_out


def _segments(ask: _Asker, base: np.ndarray, feat: np.ndarray, a: np.ndarray,
              b: np.ndarray, id_a: np.ndarray):
    """All id-constant segments of feature ``feat[s]`` over ``[a[s], b[s]]``
    (continuous), starting from the known id at ``a``. Returns, per job, a
    list of ``(start, end, id)``."""
    n = base.shape[0]
    pts = base.copy()
    pts[np.arange(n), feat] = b
    id_b = ask(pts)
    out: list[list[tuple[float, float, int]]] = [[] for _ in range(n)]
    cur, cur_id = a.astype(np.float32).copy(), id_a.copy()
    todo = np.arange(n)
    while todo.size:
        done = cur_id[todo] == id_b[todo]
        for s in todo[done]:
            out[s].append((float(cur[s]), float(b[s]), int(id_b[s])))
        todo = todo[~done]
        if todo.size == 0:
            break
        last_in, first_out, nid = _bisect(ask, base[todo], feat[todo], cur[todo], b[todo],
                                          cur_id[todo], id_b[todo])
        for i, s in enumerate(todo):
            out[s].append((float(cur[s]), float(last_in[i]), int(cur_id[s])))
        cur[todo], cur_id[todo] = first_out, nid
    return out


def extract_tree(key: jax.Array, oracle: Oracle, domain: Domain,
                 config: TreeConfig = TreeConfig()) -> TreeExtraction:
    """Steals a decision tree from a leaf-id oracle by path finding
    (Tramèr et al., USENIX Security 2016, §4.2, Algorithm 1 and the top-down
    variant with incomplete queries).

    Args:
      key: PRNG key (the starting point).
      oracle: returns leaf (node) ids, kind ``"leaf"`` (see :func:`tree_oracle`).
      domain: the feature box; thresholds outside it cannot be seen.
      config: :class:`TreeConfig` (categorical features, incomplete queries).

    Returns:
      :class:`TreeExtraction`; :func:`stolen_tree_apply` gives its leaf ids.

    Example:
      >>> oracle = tree_oracle(from_sklearn_tree(clf))
      >>> stolen = extract_tree(jax.random.key(0), oracle, data_domain(x))
      >>> agree = stolen_tree_apply(stolen, x_test) == tree_leaf(tree, x_test)
    """
    oracle = check_oracle(oracle, "extract_tree")
    oracle.require(LEAF, attack="extract_tree")
    domain = check_domain(domain)
    d = domain.num_features
    low, high = np.asarray(domain.low, np.float32), np.asarray(domain.high, np.float32)
    cat = np.zeros(d, bool)
    for j in config.categorical:
        if j >= d:
            raise ValueError(f"Expected categorical feature indices < d={d}; got {j}.")
        if low[j] != 0 or high[j] != int(high[j]):
            raise ValueError(f"Expected categorical feature {j} with codes 0..k-1 (domain low"
                             f" 0 and integer high); got [{low[j]}, {high[j]}].")
        cat[j] = True
    k = int(max([high[j] for j in config.categorical], default=0)) + 1
    t0 = time.perf_counter()
    q0 = oracle.queries
    ask = _Asker(oracle, d)
    start = np.asarray(jax.random.uniform(key, (d,)), np.float32)
    start = low + (high - low) * start
    start[cat] = np.floor(start[cat] + 0.5)
    run = _incomplete if config.incomplete else _complete
    boxes = run(ask, start, low, high, cat, k, config)
    leaf = np.array([b[0] for b in boxes], np.int32)
    lo = np.stack([b[1] for b in boxes]).astype(np.float32)
    hi = np.stack([b[2] for b in boxes]).astype(np.float32)
    codes = np.stack([b[3] for b in boxes])
    return TreeExtraction(jnp.asarray(leaf), jnp.asarray(lo), jnp.asarray(hi),
                          jnp.asarray(codes), oracle.queries - q0,
                          time.perf_counter() - t0, int(np.unique(leaf).size))


def _complete(ask, start, low, high, cat, k, config):
    """Algorithm 1: explore leaf by leaf, each from one point inside it."""
    d = start.shape[0]
    cont = np.flatnonzero(~cat)
    cats = np.flatnonzero(cat)
    id0 = ask(start[None])[0]
    queue = [(start, int(id0))]
    seen = {int(id0)}
    boxes = []
    with progress_bar(0, "tree path finding", config.progress) as bar:
        while queue and len(boxes) < config.max_boxes:
            batch, queue = queue[:config.max_boxes - len(boxes)], queue[config.max_boxes:]
            pts = np.stack([p for p, _ in batch])
            ids = np.array([i for _, i in batch], np.int64)
            nb = len(batch)
            lo = np.tile(low, (nb, 1))
            hi = np.tile(high, (nb, 1))
            codes = np.ones((nb, d, k), bool)
            found: list[tuple[np.ndarray, int]] = []
            # Continuous features: both ends of the domain first (1 query each).
            jobs = []  # (row, feature, end value, +1 upper / -1 lower)
            for r in range(nb):
                for j in cont:
                    if pts[r, j] < high[j]:
                        jobs.append((r, j, high[j], 1))
                    if pts[r, j] > low[j]:
                        jobs.append((r, j, low[j], -1))
            if jobs:
                rr = np.array([a for a, _, _, _ in jobs])
                jj = np.array([b for _, b, _, _ in jobs])
                ee = np.array([c for _, _, c, _ in jobs], np.float32)
                sg = np.array([s for _, _, _, s in jobs])
                probe = pts[rr].copy()
                probe[np.arange(len(jobs)), jj] = ee
                end_id = ask(probe)
                inside = end_id == ids[rr]
                # Unbounded on that side (within the domain): extend to infinity.
                for s in np.flatnonzero(inside):
                    if sg[s] > 0:
                        hi[rr[s], jj[s]] = np.inf
                    else:
                        lo[rr[s], jj[s]] = -np.inf
                act = np.flatnonzero(~inside)
                if act.size:
                    last_in, first_out, nid = _bisect(
                        ask, pts[rr[act]], jj[act], pts[rr[act], jj[act]], ee[act],
                        ids[rr[act]], end_id[act])
                    for i, s in enumerate(act):
                        if sg[s] > 0:
                            hi[rr[s], jj[s]] = last_in[i]
                        else:
                            lo[rr[s], jj[s]] = last_in[i]
                        nxt = pts[rr[s]].copy()
                        nxt[jj[s]] = first_out[i]
                        found.append((nxt, int(nid[i])))
            # Categorical features: every other code (1 query each).
            jobs = [(r, j, c) for r in range(nb) for j in cats
                    for c in range(int(high[j]) + 1) if c != pts[r, j]]
            if jobs:
                rr, jj, cc = (np.array(v) for v in zip(*jobs))
                probe = pts[rr].copy()
                probe[np.arange(len(jobs)), jj] = cc
                got = ask(probe)
                for s in range(len(jobs)):
                    if got[s] != ids[rr[s]]:
                        codes[rr[s], jj[s], cc[s]] = False
                        found.append((probe[s], int(got[s])))
                for r in range(nb):
                    for j in cats:
                        codes[r, j, int(high[j]) + 1:] = False
            for r in range(nb):
                boxes.append((int(ids[r]), lo[r], hi[r], codes[r]))
            for p, i in found:
                if i not in seen:
                    seen.add(i)
                    queue.append((p, i))
            bar.update(1)
    return boxes


def _incomplete(ask, start, low, high, cat, k, config):
    """Top-down search with incomplete queries (NaN = missing feature).

    An item is a partial query (its specified features at representative
    values), the node id it reaches and its region (an interval or a code
    set per specified feature). A node whose region is stable along every
    specified feature and whose id no missing feature changes is a leaf.
    """
    d = start.shape[0]
    freq = np.zeros(d)  # how often each feature split a node: probe those first
    root = np.full(d, np.nan, np.float32)
    rid = int(ask(root[None])[0])
    full_codes = np.ones((d, k), bool)
    for j in np.flatnonzero(cat):
        full_codes[j, int(high[j]) + 1:] = False
    # item: dict(x, id, lo, hi, codes, fresh: feature whose region is exact)
    items = [dict(x=root, id=rid, lo=np.full(d, -np.inf, np.float32),
                  hi=np.full(d, np.inf, np.float32), codes=full_codes.copy(), fresh=-1,
                  probed=np.zeros(d, bool), stable=False)]
    boxes = []

    def split_items(it, j, a, b, segs):
        """Child items of ``it`` along feature j (searched over [a, b]): one per
        id-constant segment; the outer segments keep the item's own bounds
        (infinite where the region was unbounded)."""
        out = []
        for sa, sb, nid, code_set in segs:
            x = it["x"].copy()
            lo, hi, codes = it["lo"].copy(), it["hi"].copy(), it["codes"].copy()
            if cat[j]:
                x[j] = float(np.flatnonzero(code_set)[0])
                codes[j] = code_set
            else:
                x[j] = sa
                lo[j] = it["lo"][j] if sa <= a else sa
                hi[j] = it["hi"][j] if sb >= b else sb
            out.append(dict(x=x, id=nid, lo=lo, hi=hi, codes=codes, fresh=j,
                            probed=np.zeros(d, bool), stable=False))
        return out

    def segment(jobs):
        """jobs: (item, feature, a, b) -> per job list of (a, b, id, code_set)."""
        res = [None] * len(jobs)
        cont_jobs = [i for i, (_, j, _, _) in enumerate(jobs) if not cat[j]]
        if cont_jobs:
            base = np.stack([jobs[i][0]["x"] for i in cont_jobs])
            feat = np.array([jobs[i][1] for i in cont_jobs])
            a = np.array([jobs[i][2] for i in cont_jobs], np.float32)
            b = np.array([jobs[i][3] for i in cont_jobs], np.float32)
            pts = base.copy()
            pts[np.arange(len(cont_jobs)), feat] = a
            id_a = ask(pts)
            segs = _segments(ask, base, feat, a, b, id_a)
            for i, s in zip(cont_jobs, segs):
                res[i] = [(sa, sb, sid, None) for sa, sb, sid in s]
        cat_jobs = [i for i, (_, j, _, _) in enumerate(jobs) if cat[j]]
        if cat_jobs:
            probes, owner = [], []
            for i in cat_jobs:
                it, j, allowed, _ = jobs[i]
                for c in np.flatnonzero(allowed):
                    p = it["x"].copy()
                    p[j] = c
                    probes.append(p)
                    owner.append((i, c))
            got = ask(np.stack(probes))
            groups: dict[int, dict[int, np.ndarray]] = {i: {} for i in cat_jobs}
            for (i, c), g in zip(owner, got):
                groups[i].setdefault(int(g), np.zeros(k, bool))[c] = True
            for i in cat_jobs:
                res[i] = [(0.0, 0.0, gid, cs) for gid, cs in groups[i].items()]
        return res

    with progress_bar(0, "tree path finding (incomplete queries)", config.progress) as bar:
        while items and len(boxes) < config.max_boxes:
            # 1. Stability along specified features (other than the fresh one).
            checks = []
            for it in items:
                if it["stable"]:
                    continue
                for j in np.flatnonzero(~np.isnan(it["x"])):
                    if j == it["fresh"]:
                        continue
                    if cat[j]:
                        others = it["codes"][j].copy()
                        others[int(it["x"][j])] = False
                        for c in np.flatnonzero(others):
                            checks.append((it, j, float(c)))
                    else:
                        for v in (it["lo"][j], it["hi"][j]):
                            v = np.clip(v, low[j], high[j])
                            if v != it["x"][j]:
                                checks.append((it, j, float(v)))
            unstable: dict[int, set] = {}
            if checks:
                pts = np.stack([c[0]["x"] for c in checks])
                pts[np.arange(len(checks)), [c[1] for c in checks]] = [c[2] for c in checks]
                got = ask(pts)
                for (it, j, _), g in zip(checks, got):
                    if g != it["id"]:
                        unstable.setdefault(id(it), set()).add(j)
            nxt_items, seg_jobs = [], []
            stable = []
            for it in items:
                if id(it) in unstable:
                    j = min(unstable[id(it)])
                    if cat[j]:
                        seg_jobs.append((it, j, it["codes"][j], None))
                    else:
                        seg_jobs.append((it, j, max(it["lo"][j], low[j]),
                                         min(it["hi"][j], high[j])))
                else:
                    it["stable"] = True
                    stable.append(it)
            # 2. Probe missing features of stable items, most used first.
            probe_jobs = []
            for it in stable:
                missing = np.flatnonzero(np.isnan(it["x"]) & ~it["probed"])
                if missing.size == 0:
                    boxes.append((it["id"], it["lo"], it["hi"], it["codes"]))
                    continue
                j = missing[np.argmax(freq[missing])]
                probe_jobs.append((it, j))
            if probe_jobs:
                pts = np.stack([it["x"] for it, _ in probe_jobs])
                vals = [(0.0 if cat[j] else (low[j] + high[j]) / 2) for _, j in probe_jobs]
                pts[np.arange(len(probe_jobs)), [j for _, j in probe_jobs]] = vals
                got = ask(pts)
                for (it, j), g in zip(probe_jobs, got):
                    it["probed"][j] = True
                    if g == it["id"]:
                        nxt_items.append(it)
                    else:
                        freq[j] += 1
                        seg_jobs.append((it, j, full_codes[j] if cat[j] else low[j],
                                         None if cat[j] else high[j]))
            if seg_jobs:
                for (it, j, a, b), segs in zip(seg_jobs, segment(seg_jobs)):
                    nxt_items.extend(split_items(it, j, a, b, segs))
            items = nxt_items
            bar.update(1)
    return boxes


__all__ = ["TreeConfig", "TreeExtraction", "extract_tree", "stolen_tree_apply", "tree_oracle"]
