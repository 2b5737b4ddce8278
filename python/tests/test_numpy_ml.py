"""fastloss.numpy_ml: CrossEntropy, SquaredError and the activations, VAELoss,
WGAN_GPLoss, against float64 references from SEMANTICS.md."""
import math

import numpy as np
import pytest

from fastloss import numpy_ml as nm
from conftest import (DTYPES, EPS32, EPS64, assert_close, one_hot, softmax_rows, strided)

# ---------------------------------------------------------------- CrossEntropy


@pytest.mark.parametrize("dtype", DTYPES)
def test_crossentropy(rng, dtype):
    n, m = 16, 10
    y = one_hot(rng.integers(0, m, n), m).astype(dtype)
    p = softmax_rows(rng, n, m, dtype)
    ce = nm.CrossEntropy()
    loss = ce.loss(y, p)
    ref = -np.sum(y.astype(np.float64) * np.log(p.astype(np.float64) + EPS64))
    assert isinstance(loss, np.dtype(dtype).type)
    assert_close(loss, ref, dtype)
    assert ce(y, p) == loss and str(ce) == "CrossEntropy"
    g = nm.CrossEntropy.grad(y, p)
    assert g.dtype == dtype
    assert_close(g, p.astype(np.float64) - y, dtype)
    # views and other layouts
    assert_close(ce.loss(strided(y), np.asfortranarray(p)), ref, dtype)
    assert_close(ce.grad(strided(y), strided(p)), p.astype(np.float64) - y, dtype)
    # a zero probability on the true class stays finite (eps64)
    y0 = one_hot([0], 2).astype(dtype)
    assert np.isfinite(ce.loss(y0, np.array([[0.0, 1.0]], dtype)))


def test_crossentropy_errors(rng):
    p = softmax_rows(rng, 3, 4, np.float64)
    y = one_hot([0, 1, 2], 4)
    y_bad = y.copy()
    y_bad[1, 3] = 0.5
    with pytest.raises(ValueError, match="FASTLOSS_ERR_NOT_BINARY"):
        nm.CrossEntropy.loss(y_bad, p)
    p_bad = p.copy()
    p_bad[2] *= 1.1
    with pytest.raises(ValueError, match="FASTLOSS_ERR_NOT_STOCHASTIC"):
        nm.CrossEntropy.grad(y, p_bad)
    with pytest.raises(ValueError, match="same shape"):
        nm.CrossEntropy.loss(y[:2], p)


# ------------------------------------------------------------ activations

SELU_A, SELU_S = 1.6732632423543772, 1.0507009873554805
_C = math.sqrt(2 / math.pi)


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _gelu_tanh(z):
    return 0.5 * z * (1 + np.tanh(_C * (z + 0.044715 * z ** 3)))


def _gelu_tanh_grad(z):
    t = np.tanh(_C * (z + 0.044715 * z ** 3))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _C * (1 + 3 * 0.044715 * z * z)


_erf = np.vectorize(math.erf)


def _phi(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


# (object, fn, derivative) in float64
ACTIVATIONS = [
    (nm.Identity(), lambda z: z, lambda z: np.ones_like(z)),
    (nm.Affine(slope=2.5, intercept=-1), lambda z: 2.5 * z - 1, lambda z: np.full_like(z, 2.5)),
    (nm.Sigmoid(), _sig, lambda z: _sig(z) * (1 - _sig(z))),
    (nm.Tanh(), np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    (nm.ReLU(), lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    (nm.LeakyReLU(), lambda z: np.where(z >= 0, z, 0.3 * z), lambda z: np.where(z < 0, 0.3, 1.0)),
    (nm.LeakyReLU(alpha=0.0), lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    (nm.ELU(alpha=2.0), lambda z: np.where(z > 0, z, 2 * (np.exp(z) - 1)),
     lambda z: np.where(z > 0, 1.0, 2 * np.exp(z))),
    (nm.SELU(), lambda z: SELU_S * np.where(z > 0, z, SELU_A * (np.exp(z) - 1)),
     lambda z: SELU_S * np.where(z > 0, 1.0, SELU_A * np.exp(z))),
    (nm.Exponential(), np.exp, np.exp),
    (nm.SoftPlus(), lambda z: np.logaddexp(0, z), _sig),
    (nm.HardSigmoid(), lambda z: np.clip(0.2 * z + 0.5, 0, 1),
     lambda z: np.where(np.abs(z) <= 2.5, 0.2, 0.0)),
    (nm.GELU(), _gelu_tanh, _gelu_tanh_grad),
    (nm.GELU(approximate=False), lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2))),
     lambda z: 0.5 * (1 + _erf(z / math.sqrt(2))) + z * _phi(z)),
]
IDS = [str(a[0]) for a in ACTIVATIONS]


def _z(rng, shape=(13, 9)):
    z = 2 * rng.normal(size=shape)
    # keep away from the kinks (0 for ReLU-like, +-2.5 for HardSigmoid)
    z[np.abs(z) < 1e-3] = 0.5
    z[np.abs(np.abs(z) - 2.5) < 1e-3] = 1.0
    return z


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,fn,deriv", ACTIVATIONS, ids=IDS)
def test_activation_fn_grad(rng, dtype, act, fn, deriv):
    z = _z(rng)
    zd = z.astype(dtype)
    out = act.fn(zd)
    assert out.dtype == dtype and out.shape == z.shape
    assert_close(out, fn(zd.astype(np.float64)), dtype)
    assert_close(act(zd), fn(zd.astype(np.float64)), dtype)
    assert act(zd[0]).shape == (1, z.shape[1])  # numpy-ml's __call__ makes 1-D a row
    g = act.grad(zd)
    assert g.dtype == dtype
    assert_close(g, deriv(zd.astype(np.float64)), dtype)
    # grad2 is the derivative of grad (finite differences in float64)
    h = 1e-5
    fd = (act.grad(z + h) - act.grad(z - h)) / (2 * h)
    np.testing.assert_allclose(act.grad2(z), fd, rtol=1e-5, atol=1e-6)


def test_activation_names_and_foreign_objects(rng):
    z = _z(rng)
    assert str(nm.activation("leaky relu(alpha=0.1)")) == "Leaky ReLU(alpha=0.1)"
    assert str(nm.activation("Affine(slope=2, intercept=1)")) == "Affine(slope=2, intercept=1)"
    assert str(nm.activation("gelu(approximate=False)")) == "GELU(approximate=False)"
    assert str(nm.activation("hard sigmoid")) == "Hard Sigmoid"
    assert isinstance(nm.activation(None), nm.Identity)
    for name in ("identity", "sigmoid", "tanh", "relu", "elu", "selu", "exponential",
                 "softplus", "SoftPlus", "Hard_Sigmoid", "LeakyReLU"):
        nm.activation(name)
    with pytest.raises(ValueError):
        nm.activation("swish")
    with pytest.raises(ValueError):
        nm.activation("elu(beta=2)")

    class ELU:  # numpy-ml's class, as far as its name and attributes go
        alpha = 0.5

        def grad(self, x):
            raise AssertionError("the C kernel should run instead")

    np.testing.assert_allclose(nm.activation(ELU()).grad(z), nm.ELU(0.5).grad(z))

    class Custom:
        def grad(self, x):
            return 3 * np.ones_like(x)

    y, yp = rng.normal(size=z.shape), rng.normal(size=z.shape)
    np.testing.assert_allclose(nm.SquaredError.grad(y, yp, z, Custom()), 3 * (yp - y))
    assert nm.activation(Custom()) is None


def test_activation_errors():
    with pytest.raises(ValueError, match="FASTLOSS_ERR_INVALID_ARGUMENT"):
        nm.ELU(alpha=float("inf")).fn(np.ones(3))


# ----------------------------------------------------------- SquaredError


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,fn,deriv", ACTIVATIONS, ids=IDS)
def test_squared_error(rng, dtype, act, fn, deriv):
    z = _z(rng).astype(dtype)
    y = rng.normal(size=z.shape).astype(dtype)
    y_pred = act.fn(z)
    se = nm.SquaredError()
    ref_loss = 0.5 * np.sum((y_pred.astype(np.float64) - y) ** 2)
    loss = se.loss(y, y_pred)
    assert isinstance(loss, np.dtype(dtype).type)
    assert_close(loss, ref_loss, dtype)
    assert se(y, y_pred) == loss and str(se) == "SquaredError"
    g = se.grad(y, y_pred, z, act)
    assert g.dtype == dtype
    ref = (y_pred.astype(np.float64) - y) * deriv(z.astype(np.float64))
    assert_close(g, ref, dtype)
    assert_close(se.grad(strided(y), y_pred, np.asfortranarray(z), str(act)), ref, dtype)


def test_squared_error_shapes(rng):
    y = rng.normal(size=(3, 4, 5))
    yp = rng.normal(size=(3, 4, 5))
    np.testing.assert_allclose(nm.SquaredError.loss(y, yp), 0.5 * np.sum((yp - y) ** 2),
                               rtol=1e-12)
    np.testing.assert_allclose(nm.SquaredError.grad(y, yp, yp, "identity"), yp - y)
    # broadcasting as numpy-ml's expression would
    np.testing.assert_allclose(nm.SquaredError.loss(y[0, 0], yp), 0.5 * np.sum((yp - y[0, 0]) ** 2))
    assert nm.SquaredError.loss(np.zeros((0, 3)), np.zeros((0, 3))) == 0
    # float32 with a float64 z computes in float64
    assert nm.SquaredError.grad(y.astype(np.float32), yp.astype(np.float32), yp,
                                None).dtype == np.float64


# ---------------------------------------------------------------- VAELoss


def ref_vae(y, yp, mu, lv, eps):
    y, yp, mu, lv = (np.asarray(a, np.float64) for a in (y, yp, mu, lv))
    n = y.shape[0]
    p = np.clip(yp, eps, 1 - eps)
    rec = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
    kl = -0.5 * np.sum(1 + lv - mu ** 2 - np.exp(lv), axis=1)
    # = -y / (n p) - (y - 1) / (n - n p), without that form's cancellation at p = 1 - eps
    dy = (p - y) / (n * p * (1 - p))
    return np.mean(rec + kl), (dy, (np.exp(lv) - 1) / (2 * n), mu / n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("binary", [True, False])
def test_vae(rng, dtype, binary):
    n, N, T = 12, 30, 5
    y = (rng.random((n, N)) < 0.4).astype(dtype) if binary else rng.random((n, N)).astype(dtype)
    yp = rng.uniform(0.02, 0.98, (n, N)).astype(dtype)
    yp[0, :3] = [0.0, 1.0, 0.5]  # the clip
    mu = rng.normal(size=(n, T)).astype(dtype)
    lv = rng.normal(size=(n, T)).astype(dtype)
    eps = EPS32 if dtype == np.float32 else EPS64
    ref_loss, ref_grads = ref_vae(y, yp, mu, lv, eps)
    vae = nm.VAELoss()
    loss = vae.loss(y, yp, mu, lv)
    assert isinstance(loss, np.dtype(dtype).type) and str(vae) == "VAELoss"
    assert_close(loss, ref_loss, dtype, scale=100)
    assert vae(y, yp, mu, lv) == loss
    grads = vae.grad(y, yp, mu, lv)
    for g, r in zip(grads, ref_grads):
        assert g.dtype == dtype and g.shape == r.shape
        # dY_pred at the clip is 1/eps large: compare relative
        np.testing.assert_allclose(g, r, rtol=2e-5 if dtype == np.float32 else 1e-10, atol=1e-7)
    l2, g2 = vae.loss_and_grad(strided(y), strided(yp), strided(mu), np.asfortranarray(lv))
    assert_close(l2, ref_loss, dtype, scale=100)
    np.testing.assert_allclose(g2[2], ref_grads[2], rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vae_from_logits(rng, dtype):
    n, N, T = 6, 9, 3
    y = (rng.random((n, N)) < 0.5).astype(dtype)
    z = (4 * rng.normal(size=(n, N))).astype(dtype)
    mu, lv = rng.normal(size=(2, n, T)).astype(dtype)
    zd = z.astype(np.float64)
    rec = np.sum(np.logaddexp(0, zd) - y * zd, axis=1)
    kl = -0.5 * np.sum(1 + lv - mu.astype(np.float64) ** 2 - np.exp(lv.astype(np.float64)),
                       axis=1)
    loss, (dz, dlv, dmu) = nm.VAELoss(from_logits=True).loss_and_grad(y, z, mu, lv)
    assert_close(loss, np.mean(rec + kl), dtype, scale=10)
    assert_close(dz, (1 / (1 + np.exp(-zd)) - y) / n, dtype)


def test_vae_errors(rng):
    y = np.zeros((2, 3))
    mu = np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"FASTLOSS_ERR_INVALID_ARGUMENT: y_pred\[1\]\[2\] = 1.5"):
        nm.VAELoss().loss(
            y, np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 1.5]]), mu, mu)
    with pytest.raises(ValueError, match="rows"):
        nm.VAELoss().loss(y, y, mu[:1], mu[:1])
    with pytest.raises(ValueError, match="same shape"):
        nm.VAELoss().grad(y, y[:, :2], mu, mu)


# ------------------------------------------------------------ WGAN_GPLoss


def ref_wgan(Y_fake, Y_real, g, lam):
    g = np.asarray(g, np.float64)
    norm = np.linalg.norm(g, axis=1, keepdims=True)
    loss = np.mean(Y_fake) - np.mean(Y_real) + lam * np.mean((norm - 1) ** 2)
    d_interp = (2 * lam / g.shape[0]) * (norm - 1) * g / (norm + EPS64)
    return loss, d_interp


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("numpy_ml_signs", [True, False])
def test_wgan_gp(rng, dtype, numpy_ml_signs):
    n, F = 10, 7
    Y_fake = rng.normal(size=n).astype(dtype)
    Y_real = rng.normal(size=n).astype(dtype)
    g = rng.normal(size=(n, F)).astype(dtype)
    g[3] = 0  # a zero row: dGradInterp 0
    w = nm.WGAN_GPLoss(lambda_=2.5, numpy_ml_signs=numpy_ml_signs)
    assert str(w) == "WGANLossGP(lambda_=2.5)"
    ref_loss, ref_interp = ref_wgan(Y_fake.astype(np.float64), Y_real, g, 2.5)
    loss = w.loss(Y_fake, "C", Y_real, g)
    assert isinstance(loss, np.dtype(dtype).type)
    assert_close(loss, ref_loss, dtype, scale=10)
    assert w(Y_fake, "C", Y_real=Y_real, gradInterp=g) == loss
    d_fake, d_real, d_interp = w.grad(Y_fake, "C", Y_real, g)
    sign = -1 if numpy_ml_signs else 1  # numpy-ml's code flips the critic's dY
    assert_close(d_fake, np.full(n, sign / n), dtype)
    assert_close(d_real, np.full(n, -sign / n), dtype)
    assert_close(d_interp, ref_interp, dtype)
    assert d_interp.dtype == dtype and np.all(d_interp[3] == 0)
    # generator
    assert_close(w.loss(Y_fake, "G"), -np.mean(Y_fake.astype(np.float64)), dtype)
    assert_close(w.grad(Y_fake, "G"), np.full(n, -1 / n), dtype)
    # column vectors and strided gradInterp
    d = w.grad(Y_fake[:, None], "C", Y_real[:, None], strided(g))
    assert d[0].shape == (n, 1) and d[1].shape == (n, 1)
    assert_close(d[2], ref_interp, dtype)
    assert_close(w.loss(Y_fake, "C", Y_real, strided(g)), ref_loss, dtype, scale=10)


def test_wgan_gp_default_lambda_and_errors(rng):
    w = nm.WGAN_GPLoss()
    g = rng.normal(size=(4, 3))
    yf, yr = rng.normal(size=(2, 4))
    np.testing.assert_allclose(w.loss(yf, "C", yr, g), ref_wgan(yf, yr, g, 10)[0], rtol=1e-12)
    np.testing.assert_allclose(nm.WGAN_GPLoss(lambda_=0).loss(yf, "C", yr, g),
                               np.mean(yf) - np.mean(yr), rtol=1e-12)
    with pytest.raises(ValueError, match="Unrecognized module"):
        w.loss(yf, "D", yr, g)
    with pytest.raises(ValueError):
        w.grad(yf, "C")
    with pytest.raises(ValueError, match="FASTLOSS_ERR_INVALID_ARGUMENT"):
        nm.WGAN_GPLoss(lambda_=-1).loss(yf, "C", yr, g)


@pytest.mark.parametrize("dtype", DTYPES)
def test_short_paths_equal_general_paths(rng, dtype):
    # C-contiguous writable ndarrays of one float dtype take the short paths
    # of SquaredError.grad and CrossEntropy.loss; read-only copies the
    # general ones: the same results, bit for bit.
    y = rng.normal(size=(6, 9)).astype(dtype)
    y_pred = rng.normal(size=(6, 9)).astype(dtype)
    z = rng.normal(size=(6, 9)).astype(dtype)

    def frozen(a):
        a = a.copy()
        a.flags.writeable = False
        return a

    for act in (nm.Identity(), nm.Tanh(), nm.LeakyReLU(0.2), "sigmoid", None):
        fast = nm.SquaredError.grad(y, y_pred, z, act)
        slow = nm.SquaredError.grad(frozen(y), frozen(y_pred), frozen(z), act)
        assert fast.dtype == dtype and fast.shape == y.shape
        np.testing.assert_array_equal(fast, slow)
    # the cached Identity struct stays right after another activation ran
    np.testing.assert_array_equal(nm.SquaredError.grad(y, y_pred, z, nm.Identity()),
                                  (y_pred.astype(np.float64) - y).astype(dtype))
    onehot = np.eye(9, dtype=dtype)[rng.integers(0, 9, 6)]
    probs = np.full((6, 9), 1.0 / 9, dtype)
    fast = nm.CrossEntropy.loss(onehot, probs)
    assert type(fast) is np.dtype(dtype).type
    assert fast == nm.CrossEntropy.loss(frozen(onehot), frozen(probs))
    np.testing.assert_allclose(float(fast), 6 * np.log(9), rtol=1e-6)
