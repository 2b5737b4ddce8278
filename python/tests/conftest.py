"""Plain-numpy float64 references, written from ../../shared/spec/SEMANTICS.md
(never by calling the library), and shared fixtures."""
import numpy as np
import pytest

EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)
DTYPES = [np.float32, np.float64]


def tol(dtype):
    """(rtol, atol) for results of dtype against a float64 reference."""
    return (2e-5, 2e-6) if np.dtype(dtype) == np.float32 else (1e-11, 1e-13)


def assert_close(actual, expected, dtype, scale=1.0):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol,
                               atol=atol * scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def log_softmax(z):
    z = np.asarray(z, np.float64)
    mx = z.max(axis=1, keepdims=True)
    return z - mx - np.log(np.exp(z - mx).sum(axis=1, keepdims=True))


def ref_xent(z, labels, reduction="sum", ignore_index=None, smoothing=0.0, weight=None):
    """(loss or row losses, grad) of PyTorch's cross-entropy with class ids."""
    z = np.asarray(z, np.float64)
    n, m = z.shape
    w = np.ones(m) if weight is None else np.asarray(weight, np.float64)
    labels = np.asarray(labels)
    valid = np.ones(n, bool) if ignore_index is None else labels != ignore_index
    y = np.where(valid, labels, 0)
    logp = log_softmax(z)
    p = np.exp(logp)
    s = smoothing
    wy = w[y]
    rows = (1 - s) * wy * -logp[np.arange(n), y] + (s / m) * (w * -logp).sum(axis=1)
    grad = p * ((1 - s) * wy + (s / m) * w.sum())[:, None] - (s / m) * w[None, :]
    grad[np.arange(n), y] -= (1 - s) * wy
    rows = np.where(valid, rows, 0.0)
    grad[~valid] = 0.0
    if reduction == "none":
        return rows, grad
    if reduction == "mean":
        denom = wy[valid].sum()
        return rows.sum() / denom, grad / denom
    return rows.sum(), grad


def ref_xent_soft(z, target, reduction="sum", smoothing=0.0, weight=None):
    z = np.asarray(z, np.float64)
    n, m = z.shape
    w = np.ones(m) if weight is None else np.asarray(weight, np.float64)
    t = w * ((1 - smoothing) * np.asarray(target, np.float64) + smoothing / m)
    logp = log_softmax(z)
    rows = (t * -logp).sum(axis=1)
    grad = np.exp(logp) * t.sum(axis=1, keepdims=True) - t
    if reduction == "none":
        return rows, grad
    if reduction == "mean":
        return rows.sum() / n, grad / n
    return rows.sum(), grad


def one_hot(labels, m):
    y = np.zeros((len(labels), m))
    y[np.arange(len(labels)), labels] = 1
    return y


def softmax_rows(rng, n, m, dtype):
    p = np.exp(rng.normal(size=(n, m)))
    return (p / p.sum(axis=1, keepdims=True)).astype(dtype)


def strided(a):
    """The same values as a, in a view that is not C-contiguous (every other
    column of a wider array, rows further apart)."""
    a = np.asarray(a)
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1] + 1,), a.dtype)
    big[..., 1::2] = a
    return big[..., 1::2]
