"""`jaxpriv serve` under load from a second process, its limits, and RemoteOracle.

One uvicorn server runs in a subprocess on 127.0.0.1 for the whole module.
"""

import socket
import subprocess
import sys
import time

import httpx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxpriv import io, models, oracles
from jaxpriv.serve import oracle_for

D, C = 8, 3
MAIN, EXACT, BUDGET, RATE = "main-key-0001", "exact-key-0001", "budget-key-001", "rate-key-00001"
PRICE = 0.002
KEYS = f"""
[[key]]
key = "{MAIN}"
name = "main"
[[key]]
key = "{EXACT}"
name = "trusted"
defenses = []
[[key]]
key = "{BUDGET}"
budget = 20
[[key]]
key = "{RATE}"
rate = 0.5
burst = 2
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    model = models.make_model("softmax", num_features=D, num_classes=C)
    params = model.init(jax.random.key(0), jnp.zeros((1, D)))
    params = jax.tree_util.tree_map(lambda p: 3.0 * p + 0.1, params)
    path = io.save_model(tmp / "target.jpm", model, params)
    (tmp / "keys.toml").write_text(KEYS)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jaxpriv.cli", "serve", str(path), "--port", str(port),
         "--keys-file", str(tmp / "keys.toml"), "--defense", "round:3", "--max-rows", "64",
         "--max-body-bytes", "30000", "--price", str(PRICE)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("server did not start: " + proc.stdout.read().decode())
        time.sleep(0.1)
    saved = io.load_model(path)
    yield {"url": url, "saved": saved, "proc": proc}
    proc.terminate()
    proc.wait(timeout=10)


def _malformed(rng, headers):
    """(method, path, kwargs, expected status) for each kind of bad request."""
    ok = rng.normal(size=(2, D)).tolist()
    return [
        ("POST", "/v1/predict", dict(content=b"{not json", headers=headers), 400),
        ("POST", "/v1/predict", dict(json=[1, 2], headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"rows": ok}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": ok, "x": 1}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": []}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [[1.0] * (D + 1)]}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [[1.0] * D, [1.0]]}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [1.0] * D}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [["a"] * D]}, headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [[True] * D]}, headers=headers), 400),
        ("POST", "/v1/predict", dict(content=b'{"inputs": [[NaN' + b', 1' * (D - 1) + b"]]}",
                                     headers=headers), 400),
        ("POST", "/v1/predict", dict(content=b'{"inputs": [[1e999' + b', 1' * (D - 1) + b"]]}",
                                     headers=headers), 400),
        ("POST", "/v1/predict", dict(json={"inputs": [[0.5] * D] * 65}, headers=headers), 413),
        ("POST", "/v1/predict", dict(content=b"[" + b" " * 40000 + b"]", headers=headers), 413),
        ("POST", "/v1/predict", dict(json={"inputs": ok}), 401),
        ("POST", "/v1/predict", dict(json={"inputs": ok},
                                     headers={"Authorization": "Bearer wrong-key-123"}), 403),
        ("GET", "/v1/predict", dict(headers=headers), 405),
        ("GET", "/v1/nothing", dict(headers=headers), 404),
    ]


def test_thousand_requests_answered_correctly_bad_ones_4xx(server):
    rng = np.random.default_rng(0)
    headers = {"Authorization": f"Bearer {MAIN}"}
    local = oracle_for(server["saved"], ("round:3",))
    valid = [rng.normal(size=(int(rng.integers(1, 7)), D)).astype(np.float32)
             for _ in range(1000)]
    bad = _malformed(rng, headers) * 7
    attributed = sum(1 for *_, kw, _s in [(0, 0, b[2], b[3]) for b in bad]
                     if kw.get("headers") == headers and _s not in (404, 405))
    order = rng.permutation(len(valid) + len(bad))
    answers, statuses = {}, []
    with httpx.Client(base_url=server["url"], timeout=30) as client:
        for i in order:
            if i < len(valid):
                r = client.post("/v1/predict", json={"inputs": valid[i].tolist()},
                                headers=headers)
                assert r.status_code == 200, r.text
                answers[i] = np.asarray(r.json()["outputs"], np.float32)
            else:
                method, path, kw, want = bad[i - len(valid)]
                r = client.request(method, path, **kw)
                statuses.append((r.status_code, want, r.json()["error"]))
        usage = client.get("/v1/usage", headers=headers).json()
    for got, want, msg in statuses:
        assert got == want, msg
        assert msg
    x_all = np.concatenate(valid)
    expected = np.asarray(local.query(x_all))
    got_all = np.concatenate([answers[i] for i in range(len(valid))])
    np.testing.assert_allclose(got_all, expected, atol=1e-3 + 1e-6)  # a rounding step at most
    assert np.mean(np.all(got_all == expected, axis=1)) > 0.99
    assert usage["requests"] == len(valid)
    assert usage["queries"] == x_all.shape[0]
    assert usage["rejected"] == attributed
    assert usage["spent"] == pytest.approx(x_all.shape[0] * PRICE)
    assert server["proc"].poll() is None  # still up


def test_budget_and_rate_limits(server):
    x = np.zeros((8, D)).tolist()
    with httpx.Client(base_url=server["url"], timeout=10) as client:
        h = {"X-API-Key": BUDGET}
        codes = [client.post("/v1/predict", json={"inputs": x}, headers=h).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 402]
        assert client.post("/v1/predict", json={"inputs": x[:4]}, headers=h).status_code == 200
        r = client.post("/v1/predict", json={"inputs": x[:1]}, headers=h)
        assert r.status_code == 402 and "budget" in r.json()["error"]
        u = client.get("/v1/usage", headers=h).json()
        assert (u["queries"], u["remaining"], u["rejected"]) == (20, 0, 2)
        h = {"X-API-Key": RATE}
        rs = [client.post("/v1/predict", json={"inputs": x[:1]}, headers=h) for _ in range(3)]
        assert [r.status_code for r in rs] == [200, 200, 429]
        assert int(rs[2].headers["retry-after"]) >= 1 and "rate limit" in rs[2].json()["error"]


def test_remote_oracle_is_an_oracle(server):
    x = np.random.default_rng(1).normal(size=(100, D)).astype(np.float32)  # > max_rows: chunks
    local = oracle_for(server["saved"], ("round:3",))
    with oracles.RemoteOracle(server["url"], MAIN) as remote:
        assert isinstance(remote, oracles.Oracle)
        assert remote.kind == oracles.PROBABILITIES and remote.lossy
        assert [d.name for d in remote.defenses] == ["round(3)"]
        np.testing.assert_allclose(remote.query(x), local.query(x), atol=1e-3 + 1e-6)
        assert remote.queries == 100
        remote.require(oracles.PROBABILITIES, attack="t")
        with pytest.raises(oracles.AccessError, match="exact confidences"):
            remote.require(oracles.PROBABILITIES, attack="t", exact=True)
        with pytest.raises(ValueError, match=r"shape \(n, 8\)"):
            remote.query(np.zeros((2, 3)))
        out = jax.jit(remote.pure_fn)(jax.random.key(0), x[:5])
        np.testing.assert_array_equal(out, remote.query(x[:5]))
        k = jax.random.key(0)
        batched = jax.jit(jax.vmap(lambda xb: remote.pure_fn(k, xb)))(x[:6].reshape(2, 3, D))
        np.testing.assert_array_equal(batched.reshape(6, C), remote.query(x[:6]))
    with oracles.RemoteOracle(server["url"], MAIN, budget=3) as capped:
        with pytest.raises(oracles.QueryBudgetExceeded):
            capped.query(x[:4])
        assert capped.queries == 0
    with pytest.raises(oracles.RemoteError, match="403"):
        oracles.RemoteOracle(server["url"], "not-a-valid-key")


def test_attacks_by_url_match_in_process(server):
    """A membership and an extraction attack give the same results against the
    URL as against the in-process oracle (full-probability tier)."""
    attacks = pytest.importorskip("jaxpriv.attacks")
    saved = server["saved"]
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, D)).astype(np.float32)
    y = rng.integers(0, C, size=40).astype(np.int32)
    local = oracle_for(saved, ())
    with oracles.RemoteOracle(server["url"], EXACT) as remote:
        a = attacks.threshold_attack(jax.random.key(0), local, (x, y))
        b = attacks.threshold_attack(jax.random.key(0), remote, (x, y))
        np.testing.assert_allclose(np.asarray(b.scores), np.asarray(a.scores), rtol=1e-5,
                                   atol=1e-6)
        assert b.queries == a.queries == 40
        ex = pytest.importorskip("jaxpriv.attacks.extraction")
        domain = ex.box_domain(-np.ones(D), np.ones(D))
        cfg = ex.LRConfig(num_classes=C)
        la = ex.extract_lr(jax.random.key(3), local, domain, cfg)
        lb = ex.extract_lr(jax.random.key(3), remote, domain, cfg)
        assert la.queries == lb.queries == D + 1 and remote.queries == 40 + D + 1
        for p, q in zip(jax.tree_util.tree_leaves(la.params), jax.tree_util.tree_leaves(lb.params)):
            np.testing.assert_allclose(np.asarray(q), np.asarray(p), atol=1e-3)
        pa = np.asarray(ex.linear_apply(la.params, x)).argmax(1)
        pb = np.asarray(ex.linear_apply(lb.params, x)).argmax(1)
        truth = np.asarray(saved.model.apply(saved.params, x)).argmax(1)
        assert np.array_equal(pa, truth) and np.array_equal(pb, truth)
