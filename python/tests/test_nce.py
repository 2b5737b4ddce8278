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


# ----------------------------------------------------------- derived_variables


def test_nce_draws_the_objects_own_stream():
    # loss() draws the negatives in Python from the C object's stream and
    # passes them in: the losses equal those of the C object drawing them.
    from ctypes import byref

    from fastloss import _lib
    from fastloss import _arrays as _a
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5, 3, 4))
    target = rng.integers(0, 6, 5)
    ours = nm.NCELoss(6, nm.DiscreteSampler(PROBS, seed=1), 3, seed=77)
    raw = nm.NCELoss(6, nm.DiscreteSampler(PROBS, seed=1), 3, seed=77, n_in=4)
    t32 = target.astype(np.int32)
    for _ in range(4):
        got = ours.loss(X, target, retain_derived=False)[0]
        out = _lib.c_double()
        _lib.check(_lib.lib.fastloss_nce_loss_f64(raw._handle.ptr, 5, 3, 4, _a.addr(X),
                                                  _a.addr(t32), None, 0, byref(out), None))
        assert got == out.value
    # The C call checks X's n_in itself (the wrapper checks it before calling).
    out = _lib.c_double(77.0)
    with pytest.raises(ValueError, match="X has n_in = 3, but the loss was created with n_in = 4"):
        _lib.check(_lib.lib.fastloss_nce_loss_f64(raw._handle.ptr, 5, 3, 3, _a.addr(X),
                                                  _a.addr(t32), None, 0, byref(out), None))
    assert out.value == 77.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nce", [True, False], ids=["nce", "negative-sampling"])
def test_nce_derived_variables(dtype, nce):
    rng = np.random.default_rng(5)
    X1 = rng.normal(size=(4, 3, 5)).astype(dtype)
    X2 = rng.normal(size=(2, 3, 5)).astype(dtype)
    t1, t2 = np.array([0, 5, 2, 2]), np.array([1, 3])
    loss = nm.NCELoss(6, nm.DiscreteSampler(PROBS, seed=2), 4, seed=9,
                      subtract_log_label_prob=nce)
    assert loss.derived_variables == {k: [] for k in (
        "y_pred", "target", "true_w", "true_b", "sampled_b", "sampled_w", "out_labels",
        "target_logits", "noise_samples", "noise_logits")}
    l1, y1 = loss.loss(X1, t1)
    W, b = loss.parameters["W"].astype(np.float64), loss.parameters["b"][0].astype(np.float64)
    given = np.array([4, 0, 0, 3])
    l2, y2 = loss.loss(X2, t2, neg_samples=given)
    loss.loss(X2, t2, retain_derived=False)
    dv = loss.derived_variables
    assert len(dv["y_pred"]) == 2 and dv["true_w"] == [] and dv["sampled_b"] == []
    eps = EPS32 if dtype == np.float32 else EPS64
    for i, (X, t, l, y) in enumerate(((X1, t1, l1, y1), (X2, t2, l2, y2))):
        neg, q_t, q_n = dv["noise_samples"][i]
        if i == 1:
            np.testing.assert_array_equal(neg, given)
        assert neg.shape == (4,) and q_t.shape == (1, len(t)) and q_n.shape == (4,)
        np.testing.assert_allclose(q_t[0], PROBS[t], rtol=1e-12)
        np.testing.assert_allclose(q_n, PROBS[neg], rtol=1e-12)
        s = 1.0 if nce else 0.0
        Xd = X.astype(np.float64)
        z_t = np.einsum("icd,id->ic", Xd, W[t]) + b[t][:, None] - s * np.log(PROBS[t])[:, None]
        z_n = Xd @ W[neg].T + b[neg] - s * np.log(PROBS[neg])
        tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(dv["target_logits"][i][..., 0], z_t, **tol)
        np.testing.assert_allclose(dv["noise_logits"][i], z_n, **tol)
        yp = dv["y_pred"][i]
        assert yp.shape == (len(t), 3, 5) and yp.dtype == dtype
        np.testing.assert_allclose(yp, np.clip(_sigmoid(np.concatenate(
            (z_t[..., None], z_n), -1)), eps, 1 - eps), **tol)
        np.testing.assert_allclose(yp[..., 0], y, **tol)   # loss()'s own y_pred
        # and the loss those probabilities give is the loss() returned
        # (so these negatives are the ones the call used)
        recomputed = -np.log(yp[..., 0].astype(np.float64)).sum() - np.log1p(
            -yp[..., 1:].astype(np.float64)).sum()
        np.testing.assert_allclose(recomputed, l, rtol=1e-5 if dtype == np.float32 else 1e-10)
        labels = dv["out_labels"][i]
        assert (labels[..., 0] == 1).all() and (labels[..., 1:] == 0).all()
        np.testing.assert_array_equal(dv["target"][i], t)
    loss.grad(update_params=False)
    assert loss.derived_variables["y_pred"] == []
    loss.freeze()
    loss.loss(X1, t1)
    dv = loss.derived_variables
    assert dv["y_pred"][0].shape == (4, 3, 1) and dv["noise_samples"][0][0].size == 0
    loss.unfreeze()
    loss.flush_gradients()
    assert loss.derived_variables["noise_logits"] == []


@pytest.mark.parametrize("dtype", DTYPES)
def test_nce_gradients_write_through_setter(dtype):
    # dW and db are read-only views; the setter writes them and tells the C
    # object, so that update() applies a row grad() never touched and
    # update() / flush_gradients() clear it.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(2, 1, 3)).astype(dtype)
    loss = nm.NCELoss(6, nm.DiscreteSampler(PROBS, seed=3), 2, seed=5,
                      optimizer="SGD(lr=0.5)")
    loss.loss(X, np.array([0, 1]), neg_samples=np.array([2, 3]))
    loss.grad(update_params=False)
    with pytest.raises(ValueError):
        loss.gradients["W"][5, 1] = 1.0
    dW = loss.gradients["W"].copy()
    dW[5, 1] = 0.25  # row 5: no target or negative of the call
    db = loss.gradients["b"].copy()
    db[0, 4] = -0.75
    with pytest.raises(KeyError):
        loss.gradients = {"W": dW, "bias": db}
    assert loss.gradients["W"][5, 1] == 0  # nothing written on error
    loss.gradients = {"W": dW, "b": db}
    assert loss.gradients["W"][5, 1] == 0.25 and loss.gradients["b"][0, 4] == -0.75
    W, b = loss.parameters["W"].copy(), loss.parameters["b"].copy()
    loss.update()
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(loss.parameters["W"], W - 0.5 * dW, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(loss.parameters["b"], b - 0.5 * db, rtol=rtol, atol=rtol)
    assert np.all(loss.gradients["W"] == 0) and np.all(loss.gradients["b"] == 0)
    loss.gradients = {"b": np.full((1, 6), 2.0)}
    loss.flush_gradients()
    assert np.all(loss.gradients["b"] == 0)
    np.testing.assert_allclose(loss.parameters["b"], b - 0.5 * db, rtol=rtol, atol=rtol)
