"""fastloss for PyTorch: ``cross_entropy``, F.cross_entropy on the fused kernel,
and ``sgns_loss``, word2vec's negative-sampling loss over two embedding tables.

Importing this module needs torch (it raises ImportError otherwise).
"""
import ctypes
from ctypes import byref

import numpy as np
import torch
import torch.nn.functional as F

from . import _lib
from ._arrays import addr as _addr

__all__ = ["cross_entropy", "CrossEntropyFunction", "sgns_loss", "sgns_loss_torch",
           "SGNSLossFunction"]

_L = _lib.lib
_REDUCTIONS = {"sum": 0, "mean": 1, "none": 2}
_FAST_DTYPES = (torch.float32, torch.float64)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


_PARAMS = {}

# The compiled common case (_fastpath.c), when it was built: it takes the
# addresses of the very functions ctypes loaded.
try:
    from . import _fastpath
    _fastpath.init(ctypes.cast(_L.fastloss_xent_f32, ctypes.c_void_p).value,
                   ctypes.cast(_L.fastloss_xent_f64, ctypes.c_void_p).value, torch)
    _fast_xent = _fastpath.xent
except ImportError:
    _fast_xent = None


def _xent_params(reduction, ignore_index, smoothing):
    p = _lib.XentParams()
    p.reduction = _REDUCTIONS[reduction]
    if ignore_index is not None:
        p.use_ignore_index = 1
        p.ignore_index = ignore_index
    p.label_smoothing = smoothing
    return p


def _run(logits, labels, soft, weight, ignore_index, reduction, smoothing, want_grad):
    """One fastloss_xent_* call: (loss tensor, gradient tensor or None)."""
    n, m = logits.shape
    dtype = logits.dtype
    f32 = dtype == torch.float32
    if weight is None:
        # parameter structs without a weight pointer are built once: the
        # library only reads them
        key = (reduction, ignore_index, smoothing)
        p = _PARAMS.get(key)
        if p is None:
            p = _xent_params(reduction, ignore_index, smoothing)
            if len(_PARAMS) < 64:
                _PARAMS[key] = p
    else:
        p = _xent_params(reduction, ignore_index, smoothing)
        if f32:
            p.weight_f32 = weight.data_ptr()
        else:
            p.weight_f64 = weight.data_ptr()
    p_ref = byref(p)
    loss = _lib.c_double()
    row_loss = torch.empty(n, dtype=dtype) if p.reduction == 2 else None
    grad = torch.empty((n, m), dtype=dtype) if want_grad else None
    rl = row_loss.data_ptr() if row_loss is not None else None
    g = grad.data_ptr() if grad is not None else None
    ld = logits.stride(0)
    if soft:
        fn = _L.fastloss_xent_soft_f32 if f32 else _L.fastloss_xent_soft_f64
        status = fn(n, m, logits.data_ptr(), ld, labels.data_ptr(), labels.stride(0),
                    p_ref, rl, byref(loss), g, m)
    else:
        fn = _L.fastloss_xent_f32 if f32 else _L.fastloss_xent_f64
        labels_ptr = _addr(labels) if isinstance(labels, np.ndarray) else labels.data_ptr()
        status = fn(n, m, logits.data_ptr(), ld, labels_ptr, p_ref, rl, byref(loss), g, m)
    if status:
        raise _lib.error(status)
    if row_loss is None:
        # from_numpy of a 0-d array is about twice as fast as torch.tensor(value)
        row_loss = torch.from_numpy(np.array(loss.value, np.float32 if f32 else np.float64))
    return row_loss, grad


class CrossEntropyFunction(torch.autograd.Function):
    """Forward: one fastloss_xent_* call writes the loss (or per-row losses)
    and the gradient; backward scales that saved gradient by grad_output.
    Not twice differentiable."""

    @staticmethod
    def forward(ctx, logits, labels, soft, weight, ignore_index, reduction, smoothing):
        out, grad = _run(logits, labels, soft, weight, ignore_index, reduction, smoothing, True)
        ctx.save_for_backward(grad)
        ctx.rows = reduction == "none"
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        if not ctx.needs_input_grad[0]:
            return (None,) * 7
        return (_scale_saved(ctx, grad_output),) + (None,) * 6


def _scale_saved(ctx, grad_output):
    """The saved gradient times grad_output."""
    (grad,) = ctx.saved_tensors
    if ctx.rows:
        return grad * grad_output.reshape(-1, 1)
    if grad_output.item() != 1.0:
        return grad * grad_output
    return grad


class _SavedGradFunction(torch.autograd.Function):
    """The compiled path's autograd node: _fastpath.xent already computed
    (loss, gradient) for ``logits``; backward scales the gradient."""

    @staticmethod
    def forward(ctx, logits, computed):
        out, grad = computed
        ctx.save_for_backward(grad)
        ctx.rows = out.dim() == 1
        return out

    @staticmethod
    def backward(ctx, grad_output):
        if torch.is_grad_enabled():
            # create_graph=True: once_differentiable's error on a double
            # backward (its wrapper costs microseconds, so only here)
            return _once_differentiable_backward(ctx, grad_output)
        # (only logits can need a gradient: the node exists because it does)
        return _scale_saved(ctx, grad_output), None


@torch.autograd.function.once_differentiable
def _once_differentiable_backward(ctx, grad_output):
    return _scale_saved(ctx, grad_output), None


def _fallback_reason(input, target, weight, reduction, label_smoothing):
    if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor):
        return "not tensors"
    if input.dim() != 2 or input.dtype not in _FAST_DTYPES or not input.is_cpu:
        return "input is not a 2-D float32/float64 CPU tensor"
    if input.stride(1) != 1 or input.stride(0) < input.shape[1] or input.numel() == 0:
        return "input rows are not unit-stride"
    if reduction not in _REDUCTIONS:
        return "unknown reduction"
    if not 0.0 <= float(label_smoothing) < 1.0:
        return "label_smoothing outside [0, 1)"
    if input.shape[0] > _INT32_MAX:
        return "too many rows"
    if not target.is_cpu or target.requires_grad:
        return "target is not a CPU tensor without grad"
    if target.is_floating_point():
        if target.shape != input.shape:
            return "soft target of another shape"
    elif target.dim() != 1 or target.shape[0] != input.shape[0]:
        return "target is not (n,) class ids"
    if weight is not None:
        if (not isinstance(weight, torch.Tensor) or not weight.is_cpu
                or weight.requires_grad or weight.shape != (input.shape[1],)):
            return "weight is not an (m,) CPU tensor without grad"
        if not bool(torch.isfinite(weight).all()) or bool((weight < 0).any()):
            # PyTorch takes these; fastloss rejects them (FASTLOSS_ERR_INVALID_ARGUMENT).
            return "weight has a negative or non-finite entry"
    return None


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """torch.nn.functional.cross_entropy with fastloss's fused kernel.

    Same arguments and results as F.cross_entropy.  The fused path runs for
    a 2-D float32 or float64 CPU ``input`` (n, m) with unit-stride rows, and
    a ``target`` of (n,) class ids or (n, m) class probabilities that needs no
    gradient, with an optional (m,) CPU ``weight`` that needs none either:
    the forward computes the loss and the gradient in one pass and saves the
    gradient, the backward only scales it (so the forward costs a gradient's
    worth of memory when input requires grad).  Everything else (other
    devices, dtypes or ranks, such as (N, C, d1, ...) inputs; gradients for
    target or weight; the deprecated size_average/reduce; double backward,
    which the saved gradient cannot give) falls back to F.cross_entropy,
    because the C kernel handles only row-major float matrices on the CPU
    and returns no second derivatives; so do weights with a negative or
    non-finite entry, which fastloss's C API rejects.  Out-of-range class ids raise
    IndexError, as PyTorch does, with fastloss's message.  Class ids may
    also be int32 (PyTorch 1.13 takes int64 only).

    The common case (class ids, no weight) runs in C when fastloss._fastpath
    was built (Python's headers, Debian's python3-dev, at build time): about
    2 us over the kernel instead of about 20 through ctypes.
    """
    if _fast_xent is not None and weight is None and size_average is None and reduce is None:
        # The common case in C (_fastpath.c); None when it is not that case.
        # (loss, gradient) when autograd will want the gradient.
        out = _fast_xent(input, target, ignore_index, reduction, label_smoothing, None)
        if type(out) is tuple:
            return _SavedGradFunction.apply(input, out)
        if out is not None:
            return out
    reason = None
    if size_average is not None or reduce is not None:
        reason = "size_average/reduce"
    if reason is None:
        reason = _fallback_reason(input, target, weight, reduction, label_smoothing)
    if reason is not None:
        return F.cross_entropy(input, target, weight=weight, size_average=size_average,
                               ignore_index=ignore_index, reduce=reduce, reduction=reduction,
                               label_smoothing=label_smoothing)
    dtype = input.dtype
    soft = target.is_floating_point()
    if soft:
        labels = target.to(dtype)
        if labels.stride(1) != 1 or labels.stride(0) < labels.shape[1]:
            labels = labels.contiguous()
        ignore = None
    else:
        labels = None
        if target.dtype != torch.int32 and target.numel():
            # Tensor ops cost microseconds each: a small target goes through
            # a list into a numpy int32 array (which the C call reads)
            if target.numel() <= 64:
                values = target.tolist()
                lo, hi = min(values), max(values)
                if _INT32_MIN <= lo and hi <= _INT32_MAX:
                    labels = np.array(values, np.int32)
            else:
                lo, hi = (int(v) for v in torch.aminmax(target))
            if lo < _INT32_MIN or hi > _INT32_MAX:
                raise IndexError("Target is out of bounds: a class id does not fit in int32")
        if labels is None:
            labels = target.to(torch.int32).contiguous()
        ignore = int(ignore_index) if _INT32_MIN <= int(ignore_index) <= _INT32_MAX else None
    if weight is not None:
        weight = weight.to(dtype).contiguous()
    if input.requires_grad and torch.is_grad_enabled():
        return CrossEntropyFunction.apply(input, labels, soft, weight, ignore, reduction,
                                          float(label_smoothing))
    return _run(input, labels, soft, weight, ignore, reduction, float(label_smoothing),
                False)[0]


# ------------------------------------------- skip-gram negative sampling


def _sgns_rows_torch(in_weight, out_weight, centers, contexts, negatives, sparse):
    """The plain PyTorch per-pair losses: the fallback, and the reference
    the tests and the benchmark compare with."""
    v = F.embedding(centers, in_weight, sparse=sparse)                 # (n, d)
    u_o = F.embedding(contexts, out_weight, sparse=sparse)             # (n, d)
    u_k = F.embedding(negatives, out_weight, sparse=sparse)            # (n, k, d)
    pos = F.logsigmoid((u_o * v).sum(-1))
    neg = F.logsigmoid(-torch.bmm(u_k, v.unsqueeze(2)).squeeze(2)).sum(-1)
    return -(pos + neg)


def _reduce(rows, reduction):
    if reduction == "sum":
        return rows.sum()
    if reduction == "mean":
        return rows.mean()
    return rows


def sgns_loss_torch(in_weight, out_weight, centers, contexts, negatives, reduction="sum",
                    sparse=False):
    """sgns_loss in plain PyTorch (embedding lookups, bmm, logsigmoid)."""
    if reduction not in _REDUCTIONS:
        raise ValueError("reduction must be 'sum', 'mean' or 'none', got %r" % (reduction,))
    return _reduce(_sgns_rows_torch(in_weight, out_weight, centers, contexts, negatives,
                                    sparse), reduction)


class SGNSLossFunction(torch.autograd.Function):
    """Forward: one fastloss_nsloss_f32 call writes the loss and one gradient
    row per occurrence of a row (the centre's, the context's, each
    negative's); backward scales them by grad_output and scatters them into
    the tables' shapes (index_add_ into zeros, or sparse COO tensors).  Not
    twice differentiable."""

    @staticmethod
    def forward(ctx, in_weight, out_weight, centers, contexts, negatives, reduction, sparse):
        n, k = negatives.shape
        vocab, dim = in_weight.shape
        want_in, want_out = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_in = torch.empty((n, dim), dtype=torch.float32) if want_in else None
        grad_out = torch.empty((n * (k + 1), dim), dtype=torch.float32) if want_out else None
        rows = torch.empty(n, dtype=torch.float32) if reduction == "none" else None
        loss = _lib.c_double()
        status = _L.fastloss_nsloss_f32(
            vocab, dim, in_weight.data_ptr(), out_weight.data_ptr(), n, centers.data_ptr(),
            contexts.data_ptr(), k, negatives.data_ptr() if n * k else None,
            byref(_NSLOSS_PARAMS[reduction]), rows.data_ptr() if rows is not None else None,
            byref(loss), grad_in.data_ptr() if grad_in is not None else None,
            grad_out.data_ptr() if grad_out is not None else None)
        if status:
            raise _lib.error(status)
        ctx.shape = (vocab, dim, n, k)
        ctx.rows = rows is not None
        ctx.sparse = sparse
        ctx.save_for_backward(centers, contexts, negatives, grad_in, grad_out)
        if rows is not None:
            return rows
        return torch.from_numpy(np.array(loss.value, np.float32))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        centers, contexts, negatives, grad_in, grad_out = ctx.saved_tensors
        vocab, dim, n, k = ctx.shape
        if ctx.rows:
            scale_in = grad_output.reshape(n, 1)
            scale_out = grad_output.reshape(n, 1, 1)
        else:
            scale_in = scale_out = None if grad_output.item() == 1.0 else grad_output
        d_in = d_out = None
        if grad_in is not None:
            g = grad_in if scale_in is None else grad_in * scale_in
            index = centers.long()
            if ctx.sparse:
                d_in = torch.sparse_coo_tensor(index.unsqueeze(0), g, (vocab, dim))
            else:
                d_in = torch.zeros((vocab, dim), dtype=torch.float32).index_add_(0, index, g)
        if grad_out is not None:
            g = grad_out if scale_out is None else (
                grad_out.view(n, k + 1, dim) * scale_out).view(n * (k + 1), dim)
            index = torch.cat((contexts.long().unsqueeze(1), negatives.long()), 1).reshape(-1)
            if ctx.sparse:
                d_out = torch.sparse_coo_tensor(index.unsqueeze(0), g, (vocab, dim))
            else:
                d_out = torch.zeros((vocab, dim), dtype=torch.float32).index_add_(0, index, g)
        return d_in, d_out, None, None, None, None, None


_NSLOSS_PARAMS = {name: _lib.NslossParams(code) for name, code in _REDUCTIONS.items()}


def _ids_int32(ids, name, vocab):
    """ids as contiguous int32; IndexError for a value outside [0, vocab)
    that int32 cannot hold (the library checks the rest)."""
    if ids.dtype != torch.int32 and ids.numel():
        lo, hi = torch.aminmax(ids)
        lo, hi = int(lo), int(hi)
        if lo < _INT32_MIN or hi > _INT32_MAX:
            bad = lo if lo < _INT32_MIN else hi
            index = int(torch.nonzero(ids.reshape(-1) == bad)[0])
            raise IndexError("%s[%d] = %d is outside [0, %d)" % (name, index, bad, vocab))
    return ids.to(torch.int32).contiguous()


def _sgns_fallback_reason(in_weight, out_weight, centers, contexts, negatives):
    tables = (in_weight, out_weight)
    ids = (centers, contexts, negatives)
    if not all(isinstance(t, torch.Tensor) for t in tables + ids):
        return "not tensors"
    if any(t.dtype != torch.float32 or not t.is_cpu or t.dim() != 2
           or not t.is_contiguous() or t.layout != torch.strided for t in tables):
        return "the tables are not contiguous 2-D float32 CPU tensors"
    if in_weight.shape != out_weight.shape or in_weight.numel() == 0:
        return "the tables differ in shape, or are empty"
    if in_weight.shape[0] > _INT32_MAX:
        return "more rows than int32 ids can name"
    if any(t.is_floating_point() or t.is_complex() or t.dtype == torch.bool
           or not t.is_cpu for t in ids):
        return "ids are not integer CPU tensors"
    if centers.dim() != 1 or contexts.shape != centers.shape or negatives.dim() != 2 \
            or negatives.shape[0] != centers.shape[0]:
        return "shapes other than centers (n,), contexts (n,), negatives (n, k)"
    if in_weight.data_ptr() == out_weight.data_ptr():
        return "one tensor as both tables"
    return None


def sgns_loss(in_weight, out_weight, centers, contexts, negatives, reduction="sum",
              sparse=False):
    """Skip-gram negative-sampling loss of embedding tables, on fastloss.

    For pair i with v = in_weight[centers[i]], u_o = out_weight[contexts[i]]
    and u_s = out_weight[negatives[i, s]]:
        loss_i = -log sigmoid(u_o . v) - sum_s log sigmoid(-u_s . v)
    reduction: 'sum' (the default, word2vec's), 'mean' over pairs, or 'none'
    (the (n,) losses).  Gradients flow to both tables: dense (vocab, dim)
    tensors by default, or with sparse=True sparse COO tensors holding one
    row per occurrence (uncoalesced, as nn.Embedding(sparse=True) gives; for
    torch.optim.SparseAdam / SGD).

    The fused path runs for float32, contiguous, strided CPU tables of one
    shape (vocab, dim) (distinct tensors) and integer CPU ids: centers (n,),
    contexts (n,), negatives (n, k); ids outside [0, vocab) raise IndexError
    with the library's message.  Its forward computes the loss and every
    gradient row in one pass (fastloss_nsloss_f32) and saves those rows (n
    (k + 2) dim floats), the backward scales and scatters them.  Everything
    else (float64, as gradcheck uses; other devices; tables of different
    shapes) runs the same maths in plain PyTorch, sgns_loss_torch, since the
    library has float32 tables only.  Not twice differentiable on the fused
    path.  The loss is exact (no clipping, as F.logsigmoid), accumulated in
    double; a 0-d float32 tensor for 'sum' and 'mean'.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError("reduction must be 'sum', 'mean' or 'none', got %r" % (reduction,))
    reason = _sgns_fallback_reason(in_weight, out_weight, centers, contexts, negatives)
    if reason is not None:
        return sgns_loss_torch(in_weight, out_weight, centers, contexts, negatives,
                               reduction=reduction, sparse=sparse)
    vocab = in_weight.shape[0]
    c = _ids_int32(centers, "centers", vocab)
    o = _ids_int32(contexts, "contexts", vocab)
    s = _ids_int32(negatives, "negatives", vocab)
    if torch.is_grad_enabled() and (in_weight.requires_grad or out_weight.requires_grad):
        return SGNSLossFunction.apply(in_weight, out_weight, c, o, s, reduction, bool(sparse))
    with torch.no_grad():
        return SGNSLossFunction.apply(in_weight.detach(), out_weight.detach(), c, o, s,
                                      reduction, bool(sparse))
