"""fastloss: SIMD/OpenMP loss kernels (libfastloss) for numpy and PyTorch.

- ``fastloss.xent(logits, labels, ...)``: fused softmax cross-entropy from
  logits, the loss and its gradient in one pass (float32 or float64).
- ``fastloss.numpy_ml``: drop-in replacements for numpy-ml's losses
  (CrossEntropy, SquaredError, VAELoss, WGAN_GPLoss, NCELoss), its
  activations and its DiscreteSampler: change the import line only.
- ``fastloss.torch`` (when torch imports): ``cross_entropy``, an autograd
  function with F.cross_entropy's arguments and results, and ``sgns_loss``,
  the skip-gram negative-sampling loss of two embedding tables.
- ``info()``, ``set_isa()``, ``get_isa()``, ``set_num_threads()``,
  ``get_num_threads()``, ``cpu_features()``: what runs, and how.

Errors from the library are raised as ``FastlossError`` subclasses that are
also ValueError, IndexError, MemoryError or RuntimeError, with the library's
message (fastloss_last_error()), e.g.
``IndexError: FASTLOSS_ERR_LABEL_OUT_OF_RANGE: labels[1] = 7 is outside [0, 4)``.
numpy is the only dependency; the library is loaded with ctypes (set
FASTLOSS_LIBRARY to override which libfastloss.so is loaded).
"""
from ctypes import byref as ctypes_byref

import numpy as np

from . import _arrays as _a
from . import _lib
from ._lib import (FastlossError, FastlossIndexError, FastlossMemoryError,
                   FastlossRuntimeError, FastlossValueError)

__all__ = ["xent", "info", "set_isa", "get_isa", "isa_name", "cpu_features",
           "set_num_threads", "get_num_threads", "version", "library_path",
           "FastlossError", "FastlossValueError", "FastlossIndexError",
           "FastlossMemoryError", "FastlossRuntimeError"]

__version__ = _lib.lib.fastloss_version().decode()
library_path = _lib.library_path

_L = _lib.lib
_ISAS = {"auto": 0, "scalar": 1, "avx2": 2, "avx512": 3, "neon": 4}
_REDUCTIONS = {"sum": 0, "mean": 1, "none": 2}


def version():
    """The library's version string (fastloss_version())."""
    return _L.fastloss_version().decode()


def isa_name(isa):
    name = _L.fastloss_isa_name(int(isa))
    return name.decode() if name else None


def get_isa():
    """The ISA whose kernels run: 'scalar', 'avx2', 'avx512' or 'neon'."""
    return isa_name(_L.fastloss_get_isa())


def set_isa(isa):
    """Select the kernels: 'auto', 'scalar', 'avx2', 'avx512' or 'neon'.

    Raises FastlossRuntimeError (a RuntimeError) when this host or build
    cannot run it; the current choice is kept then.  Not thread-safe against
    concurrent fastloss calls (see the C header)."""
    try:
        code = _ISAS[str(isa).lower()]
    except KeyError:
        raise ValueError("isa must be one of %s, got %r" % (", ".join(_ISAS), isa)) from None
    _lib.check(_L.fastloss_set_isa(code))


def cpu_features():
    """What the CPU and OS support, whatever the build contains: a list of
    'avx2', 'avx512', 'neon'."""
    bits = _L.fastloss_cpu_features()
    return [name for bit, name in ((1, "avx2"), (2, "avx512"), (4, "neon")) if bits & bit]


def set_num_threads(threads):
    """Upper bound on the OpenMP threads of a call; 0 means OpenMP's default."""
    _lib.check(_L.fastloss_set_num_threads(int(threads)))


def get_num_threads():
    return _L.fastloss_get_num_threads()


def info(file=None):
    """Print (and return as a dict) the version, library, selected ISA, CPU
    features and thread setting."""
    import os
    import sys
    threads = get_num_threads()
    d = {
        "version": version(),
        "library": library_path,
        "isa": get_isa(),
        "cpu_features": cpu_features(),
        "num_threads": threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "fastloss_isa_env": os.environ.get("FASTLOSS_ISA"),
        "compiled_fast_path": _has_fastpath(),
    }
    out = file if file is not None else sys.stdout
    print("fastloss %s (%s)" % (d["version"], d["library"]), file=out)
    print("  isa:          %s%s" % (d["isa"], " (FASTLOSS_ISA=%s)" % d["fastloss_isa_env"]
                                    if d["fastloss_isa_env"] else ""), file=out)
    print("  cpu features: %s" % (" ".join(d["cpu_features"]) or "none (baseline)"), file=out)
    print("  threads:      %s" % (threads if threads else "OpenMP default (OMP_NUM_THREADS=%s)"
                                   % (d["omp_num_threads"] or "unset")), file=out)
    print("  compiled torch fast path (fastloss._fastpath): %s"
          % ("yes" if d["compiled_fast_path"] else "no (built without Python's headers)"), file=out)
    return d


def _has_fastpath():
    import importlib.util
    return importlib.util.find_spec("fastloss._fastpath") is not None


def _xent_params(reduction, ignore_index, label_smoothing, weight, m, dtype):
    """(params struct, kept weight array) for fastloss_xent*."""
    p = _lib.XentParams()
    try:
        p.reduction = _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError("reduction must be 'sum', 'mean' or 'none', got %r"
                         % (reduction,)) from None
    if ignore_index is not None:
        ignore_index = int(ignore_index)
        if not _a._INT32_MIN <= ignore_index <= _a._INT32_MAX:
            raise ValueError("ignore_index = %d does not fit in int32" % ignore_index)
        p.use_ignore_index = 1
        p.ignore_index = ignore_index
    p.label_smoothing = float(label_smoothing)
    w = None
    if weight is not None:
        w = _a.contiguous(_a.asarray(weight, "weight"), dtype)
        if w.shape != (m,):
            raise ValueError("weight must have shape (%d,), got %s" % (m, w.shape))
        if dtype == _a.F32:
            p.weight_f32 = _a.addr(w)
        else:
            p.weight_f64 = _a.addr(w)
    return p, w


# The common call (ndarrays of the computation's dtype, C-contiguous, int32
# or int64 class ids, no ignore_index, smoothing or weight) takes a short path
# with the parameter structs built once: they are only read by the library.
_PLAIN_PARAMS = {name: _lib.XentParams(code) for name, code in _REDUCTIONS.items()
                 if name != "none"}
_PLAIN_PARAMS_REF = {name: ctypes_byref(p) for name, p in _PLAIN_PARAMS.items()}
_ndarray, _empty, _c_double = np.ndarray, np.empty, _lib.c_double
_F32, _F64, _I32, _I64 = _a.F32, _a.F64, _a.I32, np.dtype(np.int64)
_xent_f32, _xent_f64 = _L.fastloss_xent_f32, _L.fastloss_xent_f64
_addr = _a.addr


def xent(logits, labels, reduction="sum", ignore_index=None, label_smoothing=0.0,
         weight=None, grad=True):
    """Fused softmax cross-entropy from logits: ``(loss, dloss/dlogits)``.

    logits: (n, m) float32 or float64 (other types are computed in float64);
    a view with rows of unit stride is read in place, anything else is copied.
    labels: (n,) integer class ids, or an (n, m) float array of soft targets
    (one-hot rows or distributions: PyTorch's class-probability targets).
    reduction: 'sum' (numpy-ml's convention, the default), 'mean' (over the
    summed weight of the non-ignored rows; n for soft targets) or 'none'.
    ignore_index: rows with this label count 0 and are left out of the mean
    (None: no such label; PyTorch's default is -100).  label_smoothing in
    [0, 1) and weight (m,) have PyTorch's definitions.

    Returns (loss, grad): loss is a Python float (accumulated in double) for
    'sum' and 'mean', an (n,) array of per-row losses of the logits' dtype for
    'none'; grad is a new (n, m) array of that dtype, the gradient of the
    returned loss (of the sum of the row losses for 'none'), or None when
    grad=False.
    """
    if (type(logits) is _ndarray and type(labels) is _ndarray and ignore_index is None
            and weight is None and grad is True and not label_smoothing):
        params = _PLAIN_PARAMS_REF.get(reduction) if type(reduction) is str else None
        dt, ldt = logits.dtype, labels.dtype
        if (params is not None and (dt is _F32 or dt is _F64) and logits.ndim == 2
                and labels.ndim == 1 and (ldt is _I32 or ldt is _I64)
                and logits.flags.carray and labels.flags.carray):
            n, m = logits.shape
            if labels.shape[0] == n:
                if ldt is _I64:
                    labels = _a.int64_to_int32(labels)
                g = _empty((n, m), dt)
                loss = _c_double()
                status = (_xent_f32 if dt is _F32 else _xent_f64)(
                    n, m, _addr(logits), m, _addr(labels), params, None, ctypes_byref(loss),
                    _addr(g), m)
                if status:
                    raise _lib.error(status)
                return loss.value, g
    return _xent(logits, labels, reduction, ignore_index, label_smoothing, weight, grad)


def _xent(logits, labels, reduction, ignore_index, label_smoothing, weight, grad):
    z = logits if isinstance(logits, np.ndarray) else _a.asarray(logits, "logits")
    if z.ndim != 2:
        raise ValueError("logits must have shape (n, m), got %s" % (z.shape,))
    dtype = _a.float_dtype(z.dtype)
    z, ld = _a.rows(z, dtype)
    n, m = z.shape
    y = labels if isinstance(labels, np.ndarray) else _a.asarray(labels, "labels")
    soft = y.ndim == 2
    p, w = _xent_params(reduction, ignore_index, label_smoothing, weight, m, dtype)
    loss = _lib.c_double()
    row_loss = np.empty(n, dtype) if p.reduction == 2 else None
    g = np.empty((n, m), dtype) if grad else None
    rl_addr = _a.addr(row_loss) if row_loss is not None else None
    g_addr = _a.addr(g) if g is not None else None
    f32 = dtype == _a.F32
    if soft:
        if y.shape != (n, m):
            raise ValueError("soft targets must have the logits' shape %s, got %s"
                             % ((n, m), y.shape))
        if ignore_index is not None:
            raise ValueError("ignore_index does not apply to soft targets")
        y, ld_y = _a.rows(y, dtype)
        fn = _L.fastloss_xent_soft_f32 if f32 else _L.fastloss_xent_soft_f64
        status = fn(n, m, _a.addr(z), ld, _a.addr(y), ld_y, ctypes_byref(p), rl_addr,
                    ctypes_byref(loss), g_addr, m)
    else:
        if y.shape != (n,):
            raise ValueError("labels must have shape (%d,), got %s" % (n, y.shape))
        y = _a.labels_int32(y)
        fn = _L.fastloss_xent_f32 if f32 else _L.fastloss_xent_f64
        status = fn(n, m, _a.addr(z), ld, _a.addr(y), ctypes_byref(p), rl_addr,
                    ctypes_byref(loss), g_addr, m)
    if status:
        raise _lib.error(status)
    del w  # kept alive until the call returned
    return (row_loss if row_loss is not None else loss.value), g

