"""fastloss.numpy_ml.DiscreteSampler and NCELoss against numpy references."""
import numpy as np
import pytest

from fastloss import numpy_ml as nm
from conftest import DTYPES, EPS32, EPS64

PROBS = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.25])

# -------------------------------------------------------------- DiscreteSampler


def test_sampler_distribution_and_forms():
    for s in (nm.DiscreteSampler(PROBS, seed=1),
              nm.DiscreteSampler(np.log(PROBS), log=True, seed=2),
              nm.DiscreteSampler(PROBS * 40, seed=3)):  # counts are normalised
        draws = s(40000)
        assert draws.dtype == np.int64 and draws.shape == (40000,)
        freq = np.bincount(draws, minlength=6) / draws.size
        np.testing.assert_allclose(freq, PROBS, atol=0.01)
        np.testing.assert_allclose([s.prob(i) for i in range(6)], PROBS, rtol=1e-12)
    s = nm.DiscreteSampler(PROBS.tolist())
    assert s.N == 6 and s.with_replacement and not s.log
    np.testing.assert_array_equal(s.probs, PROBS)


def test_sampler_without_replacement_and_seeds():
    s = nm.DiscreteSampler(PROBS, with_replacement=False, seed=7)
    for _ in range(50):
        d = s.sample(4)
        assert len(set(d.tolist())) == 4
    assert sorted(s.sample(6).tolist()) == list(range(6))
    with pytest.raises(ValueError, match="FASTLOSS_ERR_INVALID_ARGUMENT"):
        s.sample(7)
    a, b = nm.DiscreteSampler(PROBS, seed=5), nm.DiscreteSampler(PROBS, seed=5)
    np.testing.assert_array_equal(a(100), b(100))
    np.random.seed(3)
    a = nm.DiscreteSampler(PROBS)
    np.random.seed(3)
    b = nm.DiscreteSampler(PROBS)
    np.testing.assert_array_equal(a(100), b(100))


def test_sampler_errors():
    with pytest.raises(ValueError, match="FASTLOSS_ERR"):
        nm.DiscreteSampler([0.5, -0.1, 0.6])
    with pytest.raises(ValueError, match="FASTLOSS_ERR"):
        nm.DiscreteSampler([0.0, 0.0])
    with pytest.raises(IndexError):
        nm.DiscreteSampler(PROBS).prob(6)


# ------------------------------------------------------------------ NCELoss


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def ref_nce(W, b, X, target, neg, q, nce=True, eps=EPS64, frozen=False, hits="keep"):
    """(loss, y_pred, dX, dW, db) from SEMANTICS.md, float64."""
    W, b, X = (np.asarray(a, np.float64) for a in (W, b, X))
    b = b.reshape(-1)
    s = 1.0 if nce else 0.0
    zt = np.einsum("icd,id->ic", X, W[target]) + b[target][:, None] - s * np.log(q[target])[:, None]
    zn = np.einsum("icd,jd->icj", X, W[neg]) + b[neg] - s * np.log(q[neg])
    pt = np.clip(_sigmoid(zt), eps, 1 - eps)
    pn = np.clip(_sigmoid(zn), eps, 1 - eps)
    loss = -np.log(pt).sum()
    if not frozen:
        loss -= np.log(1 - pn).sum()
    dzt = _sigmoid(zt) - 1
    dzn = _sigmoid(zn)
    dX = dzt[..., None] * W[target][:, None, :] + np.einsum("icj,jd->icd", dzn, W[neg])
    dW = np.zeros_like(W)
    db = np.zeros_like(b)
    keep = np.ones(len(target), bool)
    if hits == "numpy-ml":
        keep = ~np.isin(target, neg)
    for i, t in enumerate(target):
        if keep[i]:
            dW[t] += dzt[i] @ X[i]
            db[t] += dzt[i].sum()
    for j, k in enumerate(neg):
        dW[k] += np.einsum("ic,icd->d", dzn[:, :, j], X)
        db[k] += dzn[:, :, j].sum()
    return loss, pt, dX, dW, db.reshape(1, -1)


def _setup(dtype, rng, **kw):
    sampler = nm.DiscreteSampler(PROBS, seed=11)
    loss = nm.NCELoss(6, sampler, 3, seed=5, **kw)
    X = (0.5 * rng.normal(size=(5, 2, 4))).astype(dtype)
    target = np.array([0, 2, 5, 2, 1])
    return loss, X, target


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nce", [True, False])
@pytest.mark.parametrize("hits", ["keep", "numpy-ml", "remove"])
def test_nce_loss_and_grad(rng, dtype, nce, hits):
    loss, X, target = _setup(dtype, rng, subtract_log_label_prob=nce, accidental_hits=hits)
    neg = np.array([3, 2, 4])  # 2 is the target of examples 1 and 3: an accidental hit
    value, y_pred = loss.loss(X, target, neg_samples=neg)
    assert isinstance(value, np.dtype(dtype).type) and y_pred.dtype == dtype
    assert y_pred.shape == (5, 2)
    W = loss.parameters["W"].copy()
    b = loss.parameters["b"].copy()
    assert W.shape == (6, 4) and b.shape == (1, 6) and W.dtype == dtype and np.all(b == 0)
    bound = np.sqrt(6 / (6 + 4))
    assert np.all(np.abs(W) <= bound) and np.std(W) > 0
    eps = EPS32 if dtype == np.float32 else EPS64
    rtol = 2e-5 if dtype == np.float32 else 1e-10
    ref = ref_nce(W, b, X, target, neg, PROBS, nce=nce, eps=eps,
                  hits="keep" if hits == "remove" else hits)
    if hits != "remove":
        np.testing.assert_allclose(value, ref[0], rtol=rtol)
    np.testing.assert_allclose(y_pred, ref[1], rtol=rtol)
    dX = loss.grad(update_params=False)
    assert dX.shape == X.shape and dX.dtype == dtype
    if hits != "remove":
        np.testing.assert_allclose(dX, ref[2], rtol=rtol, atol=1e-7)
        np.testing.assert_allclose(loss.gradients["W"], ref[3], rtol=rtol, atol=1e-7)
        np.testing.assert_allclose(loss.gradients["b"], ref[4], rtol=rtol, atol=1e-7)
    else:
        # TensorFlow's remove_accidental_hits: the hit negative leaves that example's loss
        assert value < ref[0]
    # update: SGD(lr=0.01) by default, then the gradients are flushed
    dW = loss.gradients["W"].copy()
    loss.update()
    np.testing.assert_allclose(loss.parameters["W"], W - 0.01 * dW, rtol=rtol, atol=1e-8)
    assert np.all(loss.gradients["W"] == 0) and np.all(loss.gradients["b"] == 0)


def test_nce_numpy_ml_hits_differ_from_keep(rng):
    neg = np.array([3, 2, 4])
    got = {}
    _, X, target = _setup(np.float64, rng)
    for hits in ("keep", "numpy-ml"):
        loss = _setup(np.float64, rng, accidental_hits=hits)[0]
        loss.loss(X, target, neg_samples=neg)
        loss.grad(update_params=False)
        got[hits] = loss.gradients["W"].copy()
    # only the hit class's row (2, a target and a negative) differs
    diff = np.abs(got["keep"] - got["numpy-ml"]).sum(axis=1)
    assert diff[2] > 0 and np.all(np.delete(diff, 2) == 0)


def test_nce_several_calls_frozen_and_errors(rng):
    loss, X, target = _setup(np.float64, rng)
    with pytest.raises(RuntimeError):
        loss.grad()
    loss.loss(X, target)                 # negatives drawn by the sampler
    loss.loss(X[:3], target[:3], retain_derived=True)
    loss.loss(X, target, retain_derived=False)
    dX = loss.grad(retain_grads=True, update_params=False)
    assert isinstance(dX, list) and [d.shape for d in dX] == [X.shape, X[:3].shape]
    loss.flush_gradients()
    W = loss.parameters["W"].copy()
    loss.freeze()
    value, y_pred = loss.loss(X, target, neg_samples=np.array([3, 4, 1]))
    ref = ref_nce(W, loss.parameters["b"], X, target, np.array([3, 4, 1]), PROBS, frozen=True)
    np.testing.assert_allclose(value, ref[0], rtol=1e-10)
    for call in (loss.grad, loss.update, loss.flush_gradients):
        with pytest.raises(RuntimeError, match="FASTLOSS_ERR_INVALID_STATE"):
            call()
    loss.unfreeze()
    with pytest.raises(IndexError, match=r"target\[1\] = 6"):
        loss.loss(X, np.array([0, 6, 1, 1, 1]))
    with pytest.raises(ValueError, match="num_negative_samples"):
        loss.loss(X, target, neg_samples=np.array([1, 2]))
    with pytest.raises(ValueError, match="dims"):
        loss.loss(X[0], target)
    with pytest.raises(ValueError, match="n_in"):
        loss.loss(X[..., :3], target)
    # float32 X into a float64 loss is converted
    assert isinstance(loss.loss(X.astype(np.float32), target)[0], np.float64)


def test_nce_adam_and_hyperparameters(rng):
    loss, X, target = _setup(np.float64, rng, optimizer="Adam(lr=0.01)")
    assert loss.hyperparameters["optimizer"]["hyperparameters"]["id"] == "Adam"
    assert loss.hyperparameters["optimizer"]["hyperparameters"]["lr"] == 0.01
    assert str(loss).startswith("NCELoss(") and "optimizer=Adam(" in str(loss)
    loss.loss(X, target, neg_samples=np.array([3, 1, 4]))
    W = loss.parameters["W"].copy()
    loss.grad(update_params=False)
    g = loss.gradients["W"].copy()
    loss.update()
    # Adam's first step: p -= lr * g / (|g| + eps) (bias-corrected moments)
    np.testing.assert_allclose(loss.parameters["W"], W - 0.01 * g / (np.abs(g) + 1e-7),
                               rtol=1e-9, atol=1e-12)

    class SGD:  # numpy-ml's optimizer objects are read through hyperparameters
        hyperparameters = {"id": "SGD", "lr": 0.5, "momentum": 0.9, "clip_norm": None}

    assert nm.NCELoss(6, nm.DiscreteSampler(PROBS), 2, optimizer=SGD()).optimizer \
        .hyperparameters["momentum"] == 0.9
    with pytest.raises(ValueError):
        nm.NCELoss(6, nm.DiscreteSampler(PROBS), 2, optimizer="lbfgs")
    with pytest.raises(ValueError):
        nm.NCELoss(6, nm.DiscreteSampler(PROBS), 2, init="zeros")
    # parameters are writable in place
    loss.parameters["b"][0, 2] = 1.5
    assert loss.parameters["b"][0, 2] == 1.5
