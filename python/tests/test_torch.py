"""fastloss.torch.cross_entropy against torch.nn.functional.cross_entropy
(skipped when torch does not import)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from fastloss.torch import cross_entropy  # noqa: E402
from conftest import ref_xent  # noqa: E402

torch.manual_seed(0)
REDUCTIONS = ["mean", "sum", "none"]
VARIANTS = {
    "plain": {},
    "ignore_index": {"ignore_index": 3},
    "label_smoothing": {"label_smoothing": 0.15},
    "weight": {"weight": True},
    "all": {"weight": True, "label_smoothing": 0.1, "ignore_index": 0},
}


def _inputs(n, m, dtype=torch.float32):
    x = (3 * torch.randn(n, m, dtype=dtype)).requires_grad_()
    t = torch.randint(0, m, (n,))
    t[::4] = 3
    t[1::7] = 0
    return x, t


def _kwargs(variant, m, dtype):
    kw = dict(VARIANTS[variant])
    if kw.get("weight"):
        kw["weight"] = torch.rand(m, dtype=dtype) + 0.5
    return kw


def _both(x, t, reduction, kw, grad_out=None):
    out = []
    for fn in (cross_entropy, F.cross_entropy):
        xi = x.detach().clone().requires_grad_()
        loss = fn(xi, t, reduction=reduction, **kw)
        g = torch.ones_like(loss) if grad_out is None else grad_out
        loss.backward(g)
        out.append((loss.detach(), xi.grad))
    return out


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_matches_F_cross_entropy_float32(reduction, variant):
    n, m = 64, 37
    x, t = _inputs(n, m)
    kw = _kwargs(variant, m, torch.float32)
    (a, ga), (b, gb) = _both(x, t, reduction, kw)
    assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)
    # a grad_output other than 1
    go = torch.rand(n) if reduction == "none" else torch.tensor(2.5)
    (a, ga), (b, gb) = _both(x, t, reduction, kw, go)
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_targets(reduction):
    n, m = 16, 9
    x = torch.randn(n, m, requires_grad=True)
    t = torch.softmax(torch.randn(n, m), dim=1)
    kw = {"weight": torch.rand(m) + 0.5, "label_smoothing": 0.1}
    (a, ga), (b, gb) = _both(x, t, reduction, kw)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)


def test_also_matches_the_numpy_reference():
    x, t = _inputs(20, 11, torch.float64)
    w = torch.rand(11, dtype=torch.float64) + 0.5
    loss = cross_entropy(x, t, weight=w, ignore_index=3, label_smoothing=0.2)
    (g,) = torch.autograd.grad(loss, x)
    ref_loss, ref_grad = ref_xent(x.detach().numpy(), t.numpy(), "mean", 3, 0.2, w.numpy())
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), ref_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gradcheck_float64(reduction, variant):
    x, t = _inputs(6, 5, torch.float64)
    kw = _kwargs(variant, 5, torch.float64)
    assert torch.autograd.gradcheck(
        lambda inp: cross_entropy(inp, t, reduction=reduction, **kw), (x,))


def test_fallbacks_give_F_cross_entropy_results():
    # (N, C, d) input, a single (C,) sample, transposed rows, size_average
    x3 = torch.randn(4, 5, 3, requires_grad=True)
    t3 = torch.randint(0, 5, (4, 3))
    torch.testing.assert_close(cross_entropy(x3, t3), F.cross_entropy(x3, t3))
    x1 = torch.randn(5, requires_grad=True)
    torch.testing.assert_close(cross_entropy(x1, torch.tensor(2)),
                               F.cross_entropy(x1, torch.tensor(2)))
    xt = torch.randn(7, 6).t().requires_grad_()
    t = torch.randint(0, 7, (6,))
    torch.testing.assert_close(cross_entropy(xt, t), F.cross_entropy(xt, t))
    with pytest.warns(UserWarning):
        torch.testing.assert_close(cross_entropy(xt, t, size_average=False),
                                   F.cross_entropy(xt, t, size_average=False))
    # float64 weights with float32 input are cast, as the kernel needs one dtype
    x = torch.randn(3, 7, requires_grad=True)
    t = torch.tensor([0, 6, 2])
    w = torch.rand(7, dtype=torch.float64)
    torch.testing.assert_close(cross_entropy(x, t, weight=w), F.cross_entropy(x, t, weight=w.float()))
    # negative weights: PyTorch's result (the C API rejects them)
    wn = torch.tensor([1.0, -0.5, 2.0, 1.0, 0.0, 1.0, 1.0])
    torch.testing.assert_close(cross_entropy(x, t, weight=wn, reduction="sum"),
                               F.cross_entropy(x, t, weight=wn, reduction="sum"))


def test_fast_path_views_no_grad_and_errors():
    big = torch.randn(10, 20)
    x = big[:, 3:15]  # rows longer than m: read in place
    t = torch.randint(0, 12, (10,))
    for red in REDUCTIONS:
        torch.testing.assert_close(cross_entropy(x, t, reduction=red),
                                   F.cross_entropy(x, t, reduction=red))
    with torch.no_grad():
        y = cross_entropy(x.clone().requires_grad_(), t)
    assert not y.requires_grad
    with pytest.raises(IndexError, match="FASTLOSS_ERR_LABEL_OUT_OF_RANGE"):
        cross_entropy(x, torch.tensor([0] * 9 + [12]))
    with pytest.raises(IndexError):
        cross_entropy(x, torch.tensor([0] * 9 + [2**33]))
    # every row ignored: NaN mean, zero gradient (as PyTorch)
    xg = x.clone().requires_grad_()
    loss = cross_entropy(xg, torch.full((10,), -100))
    loss.backward()
    assert torch.isnan(loss) and torch.all(xg.grad == 0)


@pytest.mark.parametrize("n", [3, 64, 65, 300])
def test_int64_targets_short_and_long(n):
    # up to 64 class ids are checked and converted through a list, more with
    # tensor ops: both equal F.cross_entropy, both refuse ids beyond int32
    x, t = _inputs(n, 9)
    t = t.clamp(0, 8)
    for red in REDUCTIONS:
        torch.testing.assert_close(cross_entropy(x, t, reduction=red),
                                   F.cross_entropy(x, t, reduction=red))
    (a, ga), (b, gb) = _both(x, t, "mean", {})
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)
    t[n // 2] = 2**32 + 1  # would wrap to the valid id 1
    with pytest.raises(IndexError, match="does not fit in int32"):
        cross_entropy(x, t)
