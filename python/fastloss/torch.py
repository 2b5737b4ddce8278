"""fastloss for PyTorch: ``cross_entropy``, F.cross_entropy on the fused kernel.

Importing this module needs torch (it raises ImportError otherwise).
"""
from ctypes import byref

import numpy as np
import torch
import torch.nn.functional as F

from . import _lib

__all__ = ["cross_entropy", "CrossEntropyFunction"]

_L = _lib.lib
_REDUCTIONS = {"sum": 0, "mean": 1, "none": 2}
_FAST_DTYPES = (torch.float32, torch.float64)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _run(logits, labels, soft, weight, ignore_index, reduction, smoothing, want_grad):
    """One fastloss_xent_* call: (loss tensor, gradient tensor or None)."""
    n, m = logits.shape
    dtype = logits.dtype
    f32 = dtype == torch.float32
    p = _lib.XentParams()
    p.reduction = _REDUCTIONS[reduction]
    if ignore_index is not None:
        p.use_ignore_index = 1
        p.ignore_index = ignore_index
    p.label_smoothing = smoothing
    if weight is not None:
        if f32:
            p.weight_f32 = weight.data_ptr()
        else:
            p.weight_f64 = weight.data_ptr()
    loss = _lib.c_double()
    row_loss = torch.empty(n, dtype=dtype) if p.reduction == 2 else None
    grad = torch.empty((n, m), dtype=dtype) if want_grad else None
    rl = row_loss.data_ptr() if row_loss is not None else None
    g = grad.data_ptr() if grad is not None else None
    ld = logits.stride(0)
    if soft:
        fn = _L.fastloss_xent_soft_f32 if f32 else _L.fastloss_xent_soft_f64
        status = fn(n, m, logits.data_ptr(), ld, labels.data_ptr(), labels.stride(0),
                    byref(p), rl, byref(loss), g, m)
    else:
        fn = _L.fastloss_xent_f32 if f32 else _L.fastloss_xent_f64
        status = fn(n, m, logits.data_ptr(), ld, labels.data_ptr(), byref(p), rl,
                    byref(loss), g, m)
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
        (grad,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return (None,) * 7
        if ctx.rows:
            grad = grad * grad_output.reshape(-1, 1)
        elif grad_output.item() != 1.0:
            grad = grad * grad_output
        return (grad,) + (None,) * 6


def _fallback_reason(input, target, weight, reduction, label_smoothing):
    if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor):
        return "not tensors"
    if input.dim() != 2 or input.dtype not in _FAST_DTYPES or input.device.type != "cpu":
        return "input is not a 2-D float32/float64 CPU tensor"
    if input.stride(1) != 1 or input.stride(0) < input.shape[1] or input.numel() == 0:
        return "input rows are not unit-stride"
    if reduction not in _REDUCTIONS:
        return "unknown reduction"
    if not 0.0 <= float(label_smoothing) < 1.0:
        return "label_smoothing outside [0, 1)"
    if input.shape[0] > _INT32_MAX:
        return "too many rows"
    if target.device.type != "cpu" or target.requires_grad:
        return "target is not a CPU tensor without grad"
    if target.is_floating_point():
        if target.shape != input.shape:
            return "soft target of another shape"
    elif target.dim() != 1 or target.shape[0] != input.shape[0]:
        return "target is not (n,) class ids"
    if weight is not None:
        if (not isinstance(weight, torch.Tensor) or weight.device.type != "cpu"
                or weight.requires_grad or weight.shape != (input.shape[1],)):
            return "weight is not an (m,) CPU tensor without grad"
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
    and returns no second derivatives.  Out-of-range class ids raise
    IndexError, as PyTorch does, with fastloss's message.
    """
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
        labels = target.to(torch.int32)
        if target.dtype != torch.int32 and labels.numel() and not torch.equal(
                labels.to(target.dtype), target):
            raise IndexError("Target is out of bounds: a class id does not fit in int32")
        labels = labels.contiguous()
        ignore = int(ignore_index) if _INT32_MIN <= int(ignore_index) <= _INT32_MAX else None
    if weight is not None:
        weight = weight.to(dtype).contiguous()
    if input.requires_grad and torch.is_grad_enabled():
        return CrossEntropyFunction.apply(input, labels, soft, weight, ignore, reduction,
                                          float(label_smoothing))
    return _run(input, labels, soft, weight, ignore, reduction, float(label_smoothing),
                False)[0]
