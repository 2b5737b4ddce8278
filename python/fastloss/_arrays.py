"""numpy arrays to (address, leading dimension) pairs for the C calls.

The C API reads float32 or float64 row-major matrices with a leading
dimension and int32 labels.  Anything else (another dtype, a byte-swapped or
misaligned array, a column stride other than one element, a negative row
stride) is copied into a contiguous array of the computation's dtype first,
so no array is ever misread.
"""
import ctypes

import numpy as np

from . import _lib

try:
    from ._fastpath import address as _buffer_address, narrow_i64 as _narrow_i64
except ImportError:
    _buffer_address = _narrow_i64 = None

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
I32 = np.dtype(np.int32)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def float_dtype(dt):
    """F32 for float32 of either byte order, F64 for everything else."""
    return F32 if dt.kind == "f" and dt.itemsize == 4 else F64


def compute_dtype(*arrays):
    """float32 when the inputs' common numpy type is float32, else float64."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            return float_dtype(np.result_type(*arrays))
    return float_dtype(dt)


def asarray(x, name):
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError("%s: cannot be made into an array (%s)" % (name, exc)) from None


def rows(a, dtype):
    """(array, leading dimension) with unit column stride; a is 2-D."""
    if (a.dtype == dtype and a.flags.aligned):
        rs, cs = a.strides
        size = dtype.itemsize
        if cs == size and rs >= 0 and rs % size == 0 and rs // size >= a.shape[1]:
            return a, rs // size
    a = np.ascontiguousarray(a, dtype=dtype)
    return a, a.shape[1]


def contiguous(a, dtype):
    """A C-contiguous, aligned, native-order array of dtype (a itself if it is one)."""
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.ascontiguousarray(a, dtype=dtype)


def labels_int32(labels, name="labels"):
    """Integer class ids as contiguous int32, refusing values int32 cannot hold."""
    labels = asarray(labels, name)
    if labels.dtype == I32 and labels.flags.c_contiguous and labels.flags.aligned:
        return labels
    if labels.dtype.kind not in "iub":
        raise TypeError("%s: integer class ids expected, got dtype %s" % (name, labels.dtype))
    if labels.size and labels.dtype.itemsize >= 4 and labels.dtype != I32:
        if labels.size <= 64:  # numpy's reductions cost microseconds each
            values = labels.reshape(-1).tolist()
            lo, hi = min(values), max(values)
        else:
            lo, hi = labels.min(), labels.max()
        if lo < _INT32_MIN or hi > _INT32_MAX:
            bad = lo if lo < _INT32_MIN else hi
            index = int(np.flatnonzero(labels.reshape(-1) == bad)[0])
            raise _lib.FastlossIndexError(
                _lib.LABEL_OUT_OF_RANGE, "FASTLOSS_ERR_LABEL_OUT_OF_RANGE",
                "%s[%d] = %d does not fit in int32" % (name, index, int(bad)))
    return np.ascontiguousarray(labels, dtype=I32)


def int64_to_int32(labels, name="labels"):
    """A 1-D C-contiguous native int64 array as int32, refusing (IndexError)
    values int32 cannot hold.  The C API takes int32 class ids; the compiled
    fastloss._fastpath converts and checks in one pass where it was built;
    otherwise, as numpy's reductions cost microseconds each, small arrays
    are checked through a list."""
    if _narrow_i64 is not None:
        out = np.empty(labels.shape[0], I32)
        bad = _narrow_i64(labels, out)
        if bad is not None:
            if bad >= 0:
                _int32_overflow(labels, name)
            return out
    if labels.shape[0] <= 64:
        values = labels.tolist()
        if values and (min(values) < _INT32_MIN or max(values) > _INT32_MAX):
            _int32_overflow(labels, name)
    elif labels.min() < _INT32_MIN or labels.max() > _INT32_MAX:
        _int32_overflow(labels, name)
    return labels.astype(I32)


def _int32_overflow(labels, name):
    flat = labels.reshape(-1)
    bad = flat[(flat < _INT32_MIN) | (flat > _INT32_MAX)][0]
    index = int(np.flatnonzero(flat == bad)[0])
    raise _lib.FastlossIndexError(
        _lib.LABEL_OUT_OF_RANGE, "FASTLOSS_ERR_LABEL_OUT_OF_RANGE",
        "%s[%d] = %d does not fit in int32" % (name, index, int(bad)))


def matrix(x, name, dtype=None):
    """x as a 2-D array (1-D: one row); shapes with more axes keep the last as columns."""
    a = asarray(x, name)
    if a.ndim == 2:
        return a
    if a.ndim == 1:
        return a.reshape(1, -1)
    if a.ndim == 0:
        raise ValueError("%s: expected an array of shape (n, m), got a scalar" % name)
    return a.reshape(-1, a.shape[-1])


def same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError("%s and %s must have the same shape, got %s and %s"
                         % (name_a, name_b, a.shape, b.shape))


_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def addr(a):
    """The address of a's first element: through the buffer protocol, by
    fastloss._fastpath where it was built (any strides, read-only too), else
    by ctypes when a is writable and contiguous (both several times cheaper
    than a.ctypes.data, which builds an object per call), else
    a.ctypes.data."""
    if _buffer_address is not None:
        p = _buffer_address(a)
        if p is not None:
            return p
    try:
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data
