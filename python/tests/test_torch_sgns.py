"""fastloss.torch.sgns_loss (the skip-gram negative-sampling loss over two
embedding tables) against a float64 numpy reference written here from the
formula, against the plain PyTorch version, gradcheck in float64, errors and
thread-count reproducibility (skipped when torch does not import)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastloss  # noqa: E402
from fastloss.torch import sgns_loss, sgns_loss_torch  # noqa: E402

REDUCTIONS = ["sum", "mean", "none"]


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def ref_sgns(a, b, c, o, s, reduction, weights=None):
    """float64: (loss, d in-table, d out-table) of the weighted sum of the
    row losses (weights: dloss/drow, 1 by default; for 'mean' 1/n each)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    n, k = s.shape
    v = a[c]
    z_o = np.einsum("nd,nd->n", b[o], v)
    z_s = np.einsum("nkd,nd->nk", b[s], v)
    rows = _softplus(-z_o) + _softplus(z_s).sum(1)
    if weights is None:
        weights = np.full(n, 1.0 / n if reduction == "mean" else 1.0)
    coef_o = -_sigmoid(-z_o) * weights
    coef_s = _sigmoid(z_s) * weights[:, None]
    d_a = np.zeros_like(a)
    d_b = np.zeros_like(b)
    np.add.at(d_a, c, coef_o[:, None] * b[o] + np.einsum("nk,nkd->nd", coef_s, b[s]))
    np.add.at(d_b, o, coef_o[:, None] * v)
    np.add.at(d_b, s.reshape(-1), (coef_s[:, :, None] * v[:, None, :]).reshape(-1, a.shape[1]))
    loss = rows if reduction == "none" else (rows.mean() if reduction == "mean" else rows.sum())
    return loss, d_a, d_b


def _case(vocab=40, dim=13, n=57, k=5, scale=0.6, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.randn(vocab, dim, generator=g) * scale).requires_grad_()
    b = (torch.randn(vocab, dim, generator=g) * scale).requires_grad_()
    c = torch.randint(0, vocab, (n,), generator=g)   # small vocab: ids repeat
    o = torch.randint(0, vocab, (n,), generator=g)
    s = torch.randint(0, vocab, (n, k), generator=g)
    s[0, :] = o[0]                                    # a negative equal to the context
    return a, b, c, o, s


def _grads(fn, a, b, c, o, s, reduction, sparse, w):
    loss = fn(a, b, c, o, s, reduction=reduction, sparse=sparse)
    da, db = torch.autograd.grad((loss * w).sum() if reduction == "none" else loss * w, (a, b))
    return loss, da, db


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sgns_matches_reference_and_torch(reduction, sparse):
    a, b, c, o, s = _case()
    n = c.shape[0]
    w = torch.rand(n) + 0.5 if reduction == "none" else torch.tensor(1.7)
    loss, da, db = _grads(sgns_loss, a, b, c, o, s, reduction, sparse, w)
    assert loss.grad_fn is not None and "SGNSLossFunction" in type(loss.grad_fn).__name__
    assert loss.dtype == torch.float32
    assert da.layout == (torch.sparse_coo if sparse else torch.strided)
    # against the float64 reference
    weights = (w.double().numpy() if reduction == "none"
               else np.full(n, 1.7 / n if reduction == "mean" else 1.7))
    ref_loss, ref_da, ref_db = ref_sgns(a.detach().numpy(), b.detach().numpy(), c.numpy(),
                                        o.numpy(), s.numpy(), reduction, weights)
    np.testing.assert_allclose(loss.detach().numpy(), ref_loss, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(da.to_dense().numpy(), ref_da, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db.to_dense().numpy(), ref_db, rtol=1e-5, atol=1e-6)
    # against plain PyTorch in float32
    t_loss, t_da, t_db = _grads(sgns_loss_torch, a, b, c, o, s, reduction, sparse, w)
    torch.testing.assert_close(loss, t_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(da.to_dense(), t_da.to_dense(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(db.to_dense(), t_db.to_dense(), rtol=1e-5, atol=1e-6)


def test_sgns_only_the_tables_asked_for_and_no_grad():
    a, b, c, o, s = _case()
    b_fixed = b.detach()
    loss = sgns_loss(a, b_fixed, c, o, s)
    (da,) = torch.autograd.grad(loss, (a,))
    _, ref_da, _ = ref_sgns(a.detach().numpy(), b_fixed.numpy(), c.numpy(), o.numpy(),
                            s.numpy(), "sum")
    np.testing.assert_allclose(da.numpy(), ref_da, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        plain = sgns_loss(a, b, c, o, s)
    assert plain.grad_fn is None
    assert plain.item() == loss.item()


def test_sgns_extreme_logits_are_exact_softplus():
    # |logits| up to ~400: the tiny-probability branch of the loss and
    # sigmoids that flush to 0 or 1.
    a, b, c, o, s = _case(vocab=6, dim=4, n=9, k=3, scale=6.0, seed=3)
    loss = sgns_loss(a, b, c, o, s, reduction="none")
    ref = ref_sgns(a.detach().numpy(), b.detach().numpy(), c.numpy(), o.numpy(),
                   s.numpy(), "none")[0]
    assert np.abs(ref).max() > 50
    np.testing.assert_allclose(loss.detach().numpy(), ref, rtol=1e-5, atol=1e-5)
    da, db = torch.autograd.grad(loss.sum(), (a, b))
    assert torch.isfinite(da).all() and torch.isfinite(db).all()


def test_sgns_no_negatives_and_empty_batch():
    a, b, c, o, s = _case(k=0)
    assert s.shape[1] == 0
    loss, da, db = _grads(sgns_loss, a, b, c, o, s, "sum", False, 1.0)
    ref_loss, ref_da, ref_db = ref_sgns(a.detach().numpy(), b.detach().numpy(), c.numpy(),
                                        o.numpy(), s.numpy(), "sum")
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=2e-6)
    np.testing.assert_allclose(db.numpy(), ref_db, rtol=1e-5, atol=1e-6)
    empty = torch.zeros(0, dtype=torch.int64)
    assert sgns_loss(a, b, empty, empty, torch.zeros((0, 3), dtype=torch.int64)).item() == 0.0


def test_sgns_gradcheck_float64_fallback():
    # float64 runs the plain PyTorch path (the library's tables are float32);
    # gradcheck compares dense gradients, the sparse ones must equal them.
    a, b, c, o, s = _case(vocab=7, dim=3, n=5, k=2)
    a, b = a.detach().double().requires_grad_(), b.detach().double().requires_grad_()
    for reduction in REDUCTIONS:
        assert torch.autograd.gradcheck(
            lambda x, y: sgns_loss(x, y, c, o, s, reduction=reduction), (a, b))
        loss = sgns_loss(a, b, c, o, s, reduction=reduction, sparse=True).sum()
        assert loss.grad_fn is not None and "SGNS" not in type(loss.grad_fn).__name__
        sparse = torch.autograd.grad(loss, (a, b))
        dense = torch.autograd.grad(sgns_loss(a, b, c, o, s, reduction=reduction).sum(), (a, b))
        for x, y in zip(sparse, dense):
            assert x.layout == torch.sparse_coo
            torch.testing.assert_close(x.to_dense(), y)


def test_sgns_thread_count_is_bit_reproducible():
    a, b, c, o, s = _case(vocab=300, dim=64, n=3000, k=5)
    outs = []
    try:
        for threads in (1, 2, 3):
            fastloss.set_num_threads(threads)
            loss, da, db = _grads(sgns_loss, a, b, c, o, s, "mean", False, 1.0)
            outs.append((loss, da, db))
    finally:
        fastloss.set_num_threads(0)
    for other in outs[1:]:
        for x, y in zip(outs[0], other):
            assert torch.equal(x, y)


def test_sgns_errors_name_the_id_and_write_nothing():
    a, b, c, o, s = _case(vocab=20)
    before = (a.detach().clone(), b.detach().clone())
    bad = c.clone()
    bad[3] = 20
    with pytest.raises(IndexError, match=r"centers\[3\] = 20 is outside \[0, 20\)"):
        sgns_loss(a, b, bad, o, s)
    bad = s.clone()
    bad[2, 1] = -1
    with pytest.raises(IndexError, match=r"negatives\[11\] = -1 is outside \[0, 20\)"):
        sgns_loss(a, b, c, o, bad)
    bad = o.clone()
    bad[4] = 2**32 + 1          # would wrap to 1 as int32
    with pytest.raises(IndexError, match=r"contexts\[4\] = 4294967297 is outside"):
        sgns_loss(a, b, c, bad, s)
    assert torch.equal(a.detach(), before[0]) and torch.equal(b.detach(), before[1])
    with pytest.raises(ValueError):
        sgns_loss(a, b, c, o, s, reduction="max")
