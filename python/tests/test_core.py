"""fastloss.xent, info(), ISA and thread controls, errors."""
import io

import numpy as np
import pytest

import fastloss
from conftest import DTYPES, assert_close, one_hot, ref_xent, ref_xent_soft, strided


def test_info_prints_isa_features_threads():
    buf = io.StringIO()
    d = fastloss.info(file=buf)
    text = buf.getvalue()
    assert d["isa"] in ("scalar", "avx2", "avx512", "neon")
    assert d["isa"] in text and "cpu features" in text and "threads" in text
    assert fastloss.version() == fastloss.__version__
    assert set(d["cpu_features"]) <= {"avx2", "avx512", "neon"}


def test_isa_and_threads_round_trip():
    before = fastloss.get_isa()
    try:
        fastloss.set_isa("scalar")
        assert fastloss.get_isa() == "scalar"
        fastloss.set_isa("auto")
        assert fastloss.get_isa() in ("scalar", "avx2", "avx512", "neon")
    finally:
        fastloss.set_isa(before)
    with pytest.raises(ValueError):
        fastloss.set_isa("sse9")
    if "avx512" not in fastloss.cpu_features():
        with pytest.raises(RuntimeError, match="FASTLOSS_ERR_UNSUPPORTED_ISA"):
            fastloss.set_isa("avx512")
        assert fastloss.get_isa() == before
    fastloss.set_num_threads(1)
    assert fastloss.get_num_threads() == 1
    fastloss.set_num_threads(0)  # back to OpenMP's default
    with pytest.raises(ValueError, match="FASTLOSS_ERR_INVALID_ARGUMENT"):
        fastloss.set_num_threads(-1)


CASES = [
    dict(reduction="sum"),
    dict(reduction="mean"),
    dict(reduction="none"),
    dict(reduction="mean", ignore_index=2),
    dict(reduction="sum", ignore_index=-100),
    dict(reduction="mean", label_smoothing=0.1),
    dict(reduction="mean", weight=True),
    dict(reduction="none", weight=True, label_smoothing=0.2, ignore_index=1),
    dict(reduction="mean", weight=True, label_smoothing=0.05, ignore_index=0),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join("%s=%s" % kv for kv in c.items()))
@pytest.mark.parametrize("isa", ["auto", "scalar"])
def test_xent_matches_reference(rng, dtype, case, isa):
    n, m = 37, 19
    z = (3 * rng.normal(size=(n, m))).astype(dtype)
    labels = rng.integers(0, m, n)
    labels[::5] = case.get("ignore_index", 0) if case.get("ignore_index", 0) >= 0 else 0
    weight = rng.uniform(0.2, 2.0, m).astype(dtype) if case.get("weight") else None
    kw = dict(case)
    kw["weight"] = weight
    before = fastloss.get_isa()
    fastloss.set_isa(isa)
    try:
        loss, grad = fastloss.xent(z, labels, **kw)
    finally:
        fastloss.set_isa(before)
    ref_loss, ref_grad = ref_xent(z, labels, case["reduction"], case.get("ignore_index"),
                                  case.get("label_smoothing", 0.0), weight)
    assert grad.dtype == dtype and grad.shape == (n, m)
    if case["reduction"] == "none":
        assert loss.dtype == dtype and loss.shape == (n,)
    else:
        assert isinstance(loss, float)
    assert_close(loss, ref_loss, dtype, scale=10)
    assert_close(grad, ref_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_xent_soft_targets(rng, dtype, reduction):
    n, m = 11, 7
    z = rng.normal(size=(n, m)).astype(dtype)
    t = rng.dirichlet(np.ones(m), n).astype(dtype)
    w = rng.uniform(0.5, 1.5, m)
    loss, grad = fastloss.xent(z, t, reduction=reduction, label_smoothing=0.1, weight=w)
    ref_loss, ref_grad = ref_xent_soft(z, t, reduction, 0.1, w.astype(dtype))
    assert_close(loss, ref_loss, dtype)
    assert_close(grad, ref_grad, dtype)
    # one-hot soft targets are the class-id loss
    labels = rng.integers(0, m, n)
    a, ga = fastloss.xent(z, one_hot(labels, m).astype(dtype), reduction=reduction)
    b, gb = fastloss.xent(z, labels, reduction=reduction)
    assert_close(a, np.asarray(b, np.float64), dtype)
    assert_close(ga, gb.astype(np.float64), dtype)


def test_xent_finite_differences(rng):
    z = rng.normal(size=(4, 5))
    labels = np.array([0, 3, 4, 1])
    w = rng.uniform(0.5, 2, 5)
    kw = dict(reduction="mean", label_smoothing=0.1, weight=w)
    _, grad = fastloss.xent(z, labels, **kw)
    h = 1e-6
    for i in range(4):
        for j in range(5):
            zp, zm = z.copy(), z.copy()
            zp[i, j] += h
            zm[i, j] -= h
            fd = (fastloss.xent(zp, labels, **kw)[0] - fastloss.xent(zm, labels, **kw)[0]) / (2 * h)
            assert abs(fd - grad[i, j]) < 1e-7


@pytest.mark.parametrize("dtype", DTYPES)
def test_xent_layouts_are_never_misread(rng, dtype):
    n, m = 9, 13
    z = rng.normal(size=(n, m)).astype(dtype)
    labels = rng.integers(0, m, n)
    ref_loss, ref_grad = ref_xent(z, labels)
    variants = {
        "row view": np.pad(z, ((0, 0), (0, 5)))[:, :m],          # leading dimension > m
        "column stride": strided(z),                              # copied
        "fortran": np.asfortranarray(z),
        "reversed rows": z[::-1][::-1],
        "byte-swapped": z.astype(z.dtype.newbyteorder()),
        "list": z.tolist(),
    }
    for name, v in variants.items():
        loss, grad = fastloss.xent(v, labels)
        exp_dtype = dtype if name != "list" else np.float64
        assert grad.dtype == exp_dtype, name
        assert_close(loss, ref_loss, dtype), name
        assert_close(grad, ref_grad, dtype), name
    # reversed rows for real: labels follow
    loss, grad = fastloss.xent(z[::-1], labels[::-1])
    assert_close(grad, ref_grad[::-1], dtype)
    # int64, int16 and non-contiguous labels
    for lab in (labels.astype(np.int64), labels.astype(np.int16), strided(labels)):
        assert_close(fastloss.xent(z, lab)[0], ref_loss, dtype)
    # other input types are computed in float64
    loss, grad = fastloss.xent(z.astype(np.float16), labels)
    assert grad.dtype == np.float64


def test_xent_errors_carry_the_library_message(rng):
    z = rng.normal(size=(4, 6)).astype(np.float32)
    with pytest.raises(IndexError, match=r"FASTLOSS_ERR_LABEL_OUT_OF_RANGE: labels\[2\] = 6 "
                                          r"is outside \[0, 6\)") as err:
        fastloss.xent(z, [0, 1, 6, 2])
    assert isinstance(err.value, fastloss.FastlossError)
    assert err.value.status == 5 and err.value.status_name == "FASTLOSS_ERR_LABEL_OUT_OF_RANGE"
    with pytest.raises(IndexError, match="does not fit in int32"):
        fastloss.xent(z, np.array([0, 1, 2**32 + 1, 2], np.int64))
    with pytest.raises(IndexError):
        fastloss.xent(z, [0, -1, 2, 3])
    with pytest.raises(ValueError, match="label_smoothing"):
        fastloss.xent(z, [0, 1, 2, 3], label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        fastloss.xent(z, [0, 1, 2, 3], reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        fastloss.xent(z, [0, 1, 2, 3], weight=np.ones(5))
    with pytest.raises(ValueError, match=r"weight_f32\[2\] = -1: class weights must be finite"):
        fastloss.xent(z, [0, 1, 2, 3], weight=np.array([1, 1, -1, 1, 1, 1], np.float32))
    with pytest.raises(ValueError, match="shape"):
        fastloss.xent(z, [0, 1, 2])
    with pytest.raises(ValueError, match="shape"):
        fastloss.xent(z[0], [0])
    with pytest.raises(TypeError):
        fastloss.xent(z, np.array([0.5, 1, 2, 3]))
    with pytest.raises(ValueError, match="FASTLOSS_ERR_INVALID_SHAPE"):
        fastloss.xent(np.zeros((0, 6), np.float32), np.zeros(0, np.int32))


def test_xent_nonfinite_rows_stay_in_their_row(rng):
    z = rng.normal(size=(3, 4))
    z[0, 1] = np.nan
    z[1, :] = -np.inf
    rows, grad = fastloss.xent(z, [0, 2, 3], reduction="none")
    assert np.isnan(rows[0]) and np.isinf(rows[1]) and np.isfinite(rows[2])
    assert np.all(np.isnan(grad[0])) and np.all(grad[1] == 0) and np.all(np.isfinite(grad[2]))
    ref_rows, ref_grad = ref_xent(z[2:], [3], "none")
    np.testing.assert_allclose(rows[2:], ref_rows, rtol=1e-12)
    loss, grad = fastloss.xent(z[2:], [3], grad=False)
    assert grad is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n", [5, 300])
def test_xent_short_path_equals_general_path(rng, dtype, label_dtype, n):
    # C-contiguous ndarrays take xent's short path; a read-only copy of the
    # logits (and a list of labels) the general one: same results, bit for bit.
    m = 11
    z = rng.normal(size=(n, m)).astype(dtype)
    labels = rng.integers(0, m, n).astype(label_dtype)
    frozen = z.copy()
    frozen.flags.writeable = False
    for reduction in ("sum", "mean"):
        loss, grad = fastloss.xent(z, labels, reduction=reduction)
        loss2, grad2 = fastloss.xent(frozen, labels.tolist(), reduction=reduction)
        assert loss == loss2 and grad.dtype == dtype
        np.testing.assert_array_equal(grad, grad2)
        ref_loss, ref_grad = ref_xent(z.astype(np.float64), labels, reduction)
        assert_close(loss, ref_loss, dtype, scale=n)
        assert_close(grad, ref_grad, dtype)
    bad = labels.astype(np.int64)
    bad[n - 2] = 2**31
    with pytest.raises(IndexError, match=r"labels\[%d\] = 2147483648 does not fit" % (n - 2)):
        fastloss.xent(z, bad)


def test_compiled_int64_narrowing():
    import glob
    import os

    from fastloss import _arrays
    if not glob.glob(os.path.join(os.path.dirname(fastloss.__file__), "_fastpath*.so")):
        pytest.skip("fastloss._fastpath was not built (no Python headers)")
    narrow = _arrays._narrow_i64
    assert narrow is not None
    src = np.array([0, -5, 2**31 - 1, -2**31, 7], np.int64)
    out = np.full(5, 99, np.int32)
    assert narrow(src, out) == -1
    np.testing.assert_array_equal(out, src.astype(np.int32))
    for bad_at, value in ((0, 2**31), (3, -2**31 - 1), (4, 2**40)):
        s = src.copy()
        s[bad_at] = value
        assert narrow(s, np.empty(5, np.int32)) == bad_at
    # not the plain case: None, and int64_to_int32 takes its numpy path
    assert narrow(src, np.empty(4, np.int32)) is None            # lengths differ
    assert narrow(src.astype(np.float64), np.empty(5, np.int32)) is None
    assert narrow(src.astype(">i8"), np.empty(5, np.int32)) is None
    assert narrow(np.arange(10)[::2], np.empty(5, np.int32)) is None  # not contiguous
    assert narrow(src, np.empty(5, np.int64)) is None
    ro = np.empty(5, np.int32)
    ro.flags.writeable = False
    assert narrow(src, ro) is None
    # through fastloss.xent: int64 ids give the int32 result, bit for bit
    z = np.random.default_rng(3).normal(size=(5, 8)).astype(np.float32)
    lab = np.array([1, 7, 0, 3, 3], np.int64)
    l64, g64 = fastloss.xent(z, lab)
    l32, g32 = fastloss.xent(z, lab.astype(np.int32))
    assert l64 == l32 and np.array_equal(g64, g32)


def test_array_addresses_match_numpy():
    # fastloss._fastpath.address (or the ctypes fallback) against numpy's own
    from fastloss import _arrays
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    ro = x.copy()
    ro.flags.writeable = False
    for v in (x, x[:, 2:], x[1:], x[::-1], x.T, x[::2, ::3], ro, np.float64(2.5) * x):
        assert _arrays.addr(v) == v.ctypes.data
    if _arrays._buffer_address is not None:
        assert _arrays._buffer_address(3) is None   # no buffer: None, not an error
