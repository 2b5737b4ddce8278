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


def _compiled():
    import glob
    import os

    import fastloss.torch as ft
    here = os.path.dirname(ft.__file__)
    if not glob.glob(os.path.join(here, "_fastpath*.so")):
        pytest.skip("fastloss._fastpath was not built (no Python headers)")
    # built: it must have imported
    assert ft._fast_xent is not None
    return ft._fast_xent


def test_compiled_path_cases():
    fast = _compiled()
    x = torch.randn(300, 9)
    before = x.clone()
    t = torch.randint(0, 9, (600,))
    cases = {
        "int64": t[:300],
        "int32": t[:300].to(torch.int32),
        "strided": t[::2],
        "expanded": torch.tensor([4]).expand(300),
        "257 (heap labels)": t[:257],
        "256 (stack labels)": t[:256],
    }
    for name, tt in cases.items():
        xi = x[: tt.shape[0]]
        for red in REDUCTIONS:
            for kw in ({}, {"ignore_index": 4, "label_smoothing": 0.25}):
                got = fast(xi, tt, kw.get("ignore_index", -100), red,
                           kw.get("label_smoothing", 0.0), False)
                assert got is not None, name
                # (PyTorch 1.13 takes int64 class ids only; fastloss takes int32 too)
                torch.testing.assert_close(got, F.cross_entropy(xi, tt.long(), reduction=red, **kw),
                                           equal_nan=True)
                loss, grad = fast(xi, tt, kw.get("ignore_index", -100), red,
                                  kw.get("label_smoothing", 0.0), True)
                xg = xi.clone().requires_grad_()
                ref = F.cross_entropy(xg, tt.long(), reduction=red, **kw)
                ref.backward(torch.ones_like(ref))
                torch.testing.assert_close(loss, ref.detach(), equal_nan=True)
                torch.testing.assert_close(grad, xg.grad, rtol=1e-5, atol=1e-6)
    assert torch.equal(x, before)
    x64 = torch.randn(5, 3, dtype=torch.float64)
    t5 = torch.tensor([0, 1, 2, 1, 0])
    got = fast(x64, t5, -100, "mean", 0, False)
    assert got.dtype == torch.float64 and got.dim() == 0
    torch.testing.assert_close(got, F.cross_entropy(x64, t5), rtol=1e-14, atol=0)


def test_compiled_path_declines_what_it_does_not_handle():
    fast = _compiled()
    x = torch.randn(6, 4)
    t = torch.tensor([0, 1, 2, 3, 0, 1])
    declined = [
        (x.t().contiguous().t(), t, -100, "mean", 0.0),        # column stride 6
        (x.half(), t, -100, "mean", 0.0),                      # dtype
        (x.unsqueeze(0), t, -100, "mean", 0.0),                # 3-D
        (x, t.to(torch.int16), -100, "mean", 0.0),             # target dtype
        (x, t.float(), -100, "mean", 0.0),                     # soft target
        (x, t[:5], -100, "mean", 0.0),                         # rows differ
        (x, t, -100, "avg", 0.0),                              # reduction
        (x, t, -100, "mean", 1.0),                             # smoothing
        (x, t, -100, "mean", float("nan")),
        (x, t, 1.5, "mean", 0.0),                              # ignore_index type
        (x, torch.tensor([0, 1, 2, 3, 0, 4]), -100, "mean", 0.0),      # id 4: C error
        (x, torch.tensor([0, 1, 2, 3, 0, 2**32 + 1]), -100, "mean", 0.0),  # past int32
        (x.to_sparse(), t, -100, "mean", 0.0),                 # layout
        (x[:0], t[:0], -100, "mean", 0.0),                     # empty
        (x.numpy(), t, -100, "mean", 0.0),                     # not a tensor
    ]
    for i, args in enumerate(declined):
        assert fast(*args, False) is None, i
        assert fast(*args, True) is None, i
    # an input that needs a gradient is left to autograd, unless grad mode is off
    xg = x.clone().requires_grad_()
    assert fast(xg, t, -100, "mean", 0.0, False) is None
    with torch.no_grad():
        assert fast(xg, t, -100, "mean", 0.0, False) is not None
    # an ignore_index outside int32 ignores nothing
    torch.testing.assert_close(fast(x, t, 2**40, "sum", 0.0, False),
                               F.cross_entropy(x, t, ignore_index=2**40, reduction="sum"))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_double_backward_is_refused_not_wrong(reduction):
    # the saved gradient has no second derivative: differentiating the
    # gradient again must raise, never give zeros
    x, t = _inputs(5, 4)
    loss = cross_entropy(x, t, reduction=reduction)
    (g,) = torch.autograd.grad(loss, x, torch.ones_like(loss), create_graph=True)
    torch.testing.assert_close(g, torch.autograd.grad(F.cross_entropy(x, t, reduction=reduction), x,
                                                      torch.ones_like(loss))[0])
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), x)
