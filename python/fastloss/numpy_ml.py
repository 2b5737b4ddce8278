"""Drop-in replacements for numpy-ml's losses, activations and DiscreteSampler.

    from numpy_ml.neural_nets.losses import CrossEntropy, NCELoss   # before
    from fastloss.numpy_ml import CrossEntropy, NCELoss             # after

The classes keep numpy-ml's names, constructors, call signatures, return
values and str() forms (numpy_ml.neural_nets.losses: CrossEntropy,
SquaredError, VAELoss, WGAN_GPLoss, NCELoss; numpy_ml.neural_nets.activations:
Identity, Affine, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, Exponential,
SoftPlus, HardSigmoid, GELU; numpy_ml.utils.data_structures.DiscreteSampler).

dtypes: float32 inputs give float32 arrays and float32 scalar losses; any
other input is computed in float64 (as numpy would promote).  Losses are
accumulated in double inside the library before that final rounding.
Arrays of any layout are accepted (non-contiguous or byte-swapped ones are
copied, never misread).

Where numpy-ml's code and its documentation differ, these classes return
what numpy-ml's code returns (the C library and fastloss.xent follow the
documentation); each such difference is listed in the class docstring, with
the switch that gives the documented behaviour.  Invalid input (a y that is
not one-hot, probabilities that do not sum to 1, a y_pred outside [0, 1],
an unknown module) raises ValueError (a FastlossValueError) where numpy-ml
raises ValueError or fails an assert.
"""
from ctypes import byref

import numpy as np

from . import _arrays as _a
from . import _lib
from ._activations import (ELU, GELU, SELU, ActivationBase, Affine, Exponential,  # noqa: F401
                           HardSigmoid, Identity, LeakyReLU, ReLU, Sigmoid, SoftPlus, Tanh,
                           activation)
from ._nce import DiscreteSampler, NCELoss  # noqa: F401

__all__ = ["CrossEntropy", "SquaredError", "VAELoss", "WGAN_GPLoss", "NCELoss",
           "DiscreteSampler", "ActivationBase", "Identity", "Affine", "Sigmoid", "Tanh", "ReLU",
           "LeakyReLU", "ELU", "SELU", "Exponential", "SoftPlus", "HardSigmoid", "GELU",
           "activation"]

_L = _lib.lib
# Short paths for the common call (ndarrays of one float dtype, C-contiguous,
# same shape): no conversion, cached prototypes.
_ndarray, _empty, _c_double = np.ndarray, np.empty, _lib.c_double
_F32, _F64, _addr = _a.F32, _a.F64, _a.addr
_SQERR_GRAD = {_F32: _L.fastloss_sqerr_grad_f32, _F64: _L.fastloss_sqerr_grad_f64}
_CE_LOSS = {_F32: _L.fastloss_crossentropy_loss_f32, _F64: _L.fastloss_crossentropy_loss_f64}


def _scalar(value, dtype):
    return dtype.type(value)


def _pair(y, y_pred, broadcast=False):
    """(y, y_pred, dtype, shape) as contiguous 2-D arrays of one float dtype."""
    y = _a.asarray(y, "y")
    y_pred = _a.asarray(y_pred, "y_pred")
    dtype = _a.compute_dtype(y, y_pred)
    if broadcast and y.shape != y_pred.shape:
        y, y_pred = np.broadcast_arrays(y, y_pred)
    else:
        _a.same_shape(y, y_pred, "y", "y_pred")
    shape = y.shape
    y2 = _a.contiguous(_a.matrix(y, "y"), dtype)
    p2 = _a.contiguous(_a.matrix(y_pred, "y_pred"), dtype)
    return y2, p2, dtype, shape


class ObjectiveBase:
    """numpy-ml's base class of the losses."""


class CrossEntropy(ObjectiveBase):
    """numpy-ml's CrossEntropy: ``-sum y log(y_pred + eps64)`` over the batch
    (the sum, not the mean), and ``y_pred - y``, the gradient with respect to
    the softmax input.  y must be one-hot (exactly 0 or 1) and each row of
    y_pred must sum to 1 (fastloss_crossentropy_*: a ValueError names the
    first offending index or row).  For logits, fastloss.xent fuses the
    softmax in."""

    def __call__(self, y, y_pred):
        return self.loss(y, y_pred)

    def __str__(self):
        return "CrossEntropy"

    @staticmethod
    def loss(y, y_pred):
        if type(y) is _ndarray and type(y_pred) is _ndarray:
            dt = y.dtype
            if ((dt is _F32 or dt is _F64) and y_pred.dtype is dt and y.ndim == 2
                    and y.shape == y_pred.shape and y.flags.carray and y_pred.flags.carray):
                n, m = y.shape
                out = _c_double()
                status = _CE_LOSS[dt](n, m, _addr(y), _addr(y_pred), byref(out))
                if status:
                    raise _lib.error(status)
                return dt.type(out.value)
        y2, p2, dtype, _ = _pair(y, y_pred)
        n, m = y2.shape
        out = _lib.c_double()
        fn = _L.fastloss_crossentropy_loss_f32 if dtype == _a.F32 else \
            _L.fastloss_crossentropy_loss_f64
        _lib.check(fn(n, m, _a.addr(y2), _a.addr(p2), byref(out)))
        return _scalar(out.value, dtype)

    @staticmethod
    def grad(y, y_pred):
        y2, p2, dtype, shape = _pair(y, y_pred)
        n, m = y2.shape
        g = np.empty((n, m), dtype)
        fn = _L.fastloss_crossentropy_grad_f32 if dtype == _a.F32 else \
            _L.fastloss_crossentropy_grad_f64
        _lib.check(fn(n, m, _a.addr(y2), _a.addr(p2), _a.addr(g)))
        return g.reshape(shape)


class SquaredError(ObjectiveBase):
    """numpy-ml's SquaredError: ``0.5 ||y_pred - y||^2`` summed over
    everything, and ``(y_pred - y) * act_fn.grad(z)``.  act_fn may be one of
    this module's activations, numpy-ml's own activation objects, a name
    ("tanh", "leaky relu(alpha=0.1)") or None (Identity); the fused C kernel
    runs for all of those.  Any other object with a grad() method is used as
    numpy-ml would use it.  Inputs broadcast against each other."""

    def __call__(self, y, y_pred):
        return self.loss(y, y_pred)

    def __str__(self):
        return "SquaredError"

    @staticmethod
    def loss(y, y_pred):
        y2, p2, dtype, _ = _pair(y, y_pred, broadcast=True)
        if y2.size == 0:
            return _scalar(0.0, dtype)
        out = _lib.c_double()
        fn = _L.fastloss_sqerr_loss_f32 if dtype == _a.F32 else _L.fastloss_sqerr_loss_f64
        _lib.check(fn(1, y2.size, _a.addr(y2), _a.addr(p2), byref(out)))
        return _scalar(out.value, dtype)

    @staticmethod
    def grad(y, y_pred, z, act_fn):
        if type(y) is _ndarray and type(y_pred) is _ndarray and type(z) is _ndarray:
            dt, shape = y.dtype, y.shape
            if ((dt is _F32 or dt is _F64) and y_pred.dtype is dt and z.dtype is dt
                    and y_pred.shape == shape and z.shape == shape and y.size
                    and y.flags.carray and y_pred.flags.carray and z.flags.carray):
                act = act_fn if isinstance(act_fn, ActivationBase) else activation(act_fn)
                if act is not None:
                    g = _empty(shape, dt)
                    # C-contiguous, size > 0: the addresses are the arrays' data
                    status = _SQERR_GRAD[dt](1, g.size, _addr(y), _addr(y_pred), _addr(z),
                                             act._ref(), _addr(g))
                    if status:
                        raise _lib.error(status)
                    return g
        act = activation(act_fn)
        if act is None:
            return (_a.asarray(y_pred, "y_pred") - _a.asarray(y, "y")) * act_fn.grad(z)
        y = _a.asarray(y, "y")
        y_pred = _a.asarray(y_pred, "y_pred")
        z = _a.asarray(z, "z")
        dtype = _a.compute_dtype(y, y_pred, z)
        if not y.shape == y_pred.shape == z.shape:
            y, y_pred, z = np.broadcast_arrays(y, y_pred, z)
        shape = y.shape
        y, y_pred, z = (_a.contiguous(v, dtype) for v in (y, y_pred, z))
        g = np.empty(shape, dtype)
        if g.size:
            fn = _L.fastloss_sqerr_grad_f32 if dtype == _a.F32 else _L.fastloss_sqerr_grad_f64
            _lib.check(fn(1, g.size, _a.addr(y), _a.addr(y_pred), _a.addr(z),
                          byref(act._struct()), _a.addr(g)))
        return g


class VAELoss(ObjectiveBase):
    """numpy-ml's VAELoss: the mean over rows of the Bernoulli reconstruction
    cross-entropy plus the KL divergence to a unit Gaussian, and its three
    gradients (fastloss_vae_*, one fused pass).

    Differences from numpy-ml's code: y_pred is clipped to [eps, 1 - eps]
    with eps = FLT_EPSILON for float32 (numpy-ml's float64 epsilon would
    round 1 - eps to 1 and give log(0)); y_pred outside [0, 1] is a
    ValueError instead of being clipped silently.  ``from_logits=True``
    (beyond numpy-ml) takes the decoder's logits instead of probabilities:
    the loss through softplus, no clip, dY_pred with respect to the logits.
    """

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def __call__(self, y, y_pred, t_mean, t_log_var):
        return self.loss(y, y_pred, t_mean, t_log_var)

    def __str__(self):
        return "VAELoss"

    def _run(self, y, y_pred, t_mean, t_log_var, want_loss, want_grad):
        arrays = [_a.asarray(v, name) for v, name in ((y, "y"), (y_pred, "y_pred"),
                                                       (t_mean, "t_mean"),
                                                       (t_log_var, "t_log_var"))]
        dtype = _a.compute_dtype(*arrays)
        y, y_pred, t_mean, t_log_var = arrays
        for v, name in zip(arrays, ("y", "y_pred", "t_mean", "t_log_var")):
            if v.ndim != 2:
                raise ValueError("%s must be 2-D, got shape %s" % (name, v.shape))
        _a.same_shape(y, y_pred, "y", "y_pred")
        _a.same_shape(t_mean, t_log_var, "t_mean", "t_log_var")
        if y.shape[0] != t_mean.shape[0]:
            raise ValueError("y and t_mean must have the same number of rows, got %s and %s"
                             % (y.shape, t_mean.shape))
        n, N = y.shape
        T = t_mean.shape[1]
        y, ld_y = _a.rows(y, dtype)
        y_pred = _a.contiguous(y_pred, dtype)
        t_mean = _a.contiguous(t_mean, dtype)
        t_log_var = _a.contiguous(t_log_var, dtype)
        params = _lib.VaeParams(1 if self.from_logits else 0)
        loss = _lib.c_double()
        grads = (np.empty((n, N), dtype), np.empty((n, T), dtype),
                 np.empty((n, T), dtype)) if want_grad else (None, None, None)
        addr = [_a.addr(g) if g is not None else None for g in grads]
        fn = _L.fastloss_vae_f32 if dtype == _a.F32 else _L.fastloss_vae_f64
        _lib.check(fn(n, N, T, _a.addr(y), ld_y, _a.addr(y_pred), N, _a.addr(t_mean),
                      _a.addr(t_log_var), T, byref(params), None, None,
                      byref(loss) if want_loss else None, addr[0], addr[1], addr[2]))
        return _scalar(loss.value, dtype), grads

    def loss(self, y, y_pred, t_mean, t_log_var):
        return self._run(y, y_pred, t_mean, t_log_var, True, False)[0]

    def grad(self, y, y_pred, t_mean, t_log_var):
        """(dY_pred, dLogVar, dMean)."""
        return self._run(y, y_pred, t_mean, t_log_var, False, True)[1]

    def loss_and_grad(self, y, y_pred, t_mean, t_log_var):
        """(loss, (dY_pred, dLogVar, dMean)) in one pass (beyond numpy-ml)."""
        return self._run(y, y_pred, t_mean, t_log_var, True, True)


class WGAN_GPLoss(ObjectiveBase):
    """numpy-ml's WGAN_GPLoss(lambda_=10): critic ('C') loss
    ``mean(Y_fake) - mean(Y_real) + lambda_ mean_i (||gradInterp_i|| - 1)^2``,
    generator ('G') loss ``-mean(Y_fake)``, and their gradients.

    Difference kept for compatibility: numpy-ml's code returns the critic's
    dY_fake and dY_real with the opposite signs of the true gradients of
    its loss (-1/n and +1/n; its WGAN-GP model unpacks them swapped, and the
    two slips cancel).  This class returns numpy-ml's signs by default;
    ``WGAN_GPLoss(lambda_, numpy_ml_signs=False)`` returns the true gradients
    (+1/n_fake and -1/n_real), as the C library and numpy-ml's documentation
    do.  dGradInterp is ``(2 lambda_ / n) (||g|| - 1) g / (||g|| + eps64)``,
    numpy-ml's to within eps64 relative.  An unknown module raises ValueError.
    """

    def __init__(self, lambda_=10, numpy_ml_signs=True):
        self.lambda_ = lambda_
        self.numpy_ml_signs = bool(numpy_ml_signs)

    def __call__(self, Y_fake, module, Y_real=None, gradInterp=None):
        return self.loss(Y_fake, module, Y_real=Y_real, gradInterp=gradInterp)

    def __str__(self):
        return "WGANLossGP(lambda_={})".format(self.lambda_)

    @property
    def hyperparameters(self):
        return {"id": "WGAN_GPLoss", "lambda_": self.lambda_}

    def _run(self, Y_fake, module, Y_real, gradInterp, want_loss, want_grad):
        if not (isinstance(module, str) and module in ("C", "G")):
            raise ValueError("Unrecognized module: {}".format(module))
        critic = module == "C"
        Y_fake = _a.asarray(Y_fake, "Y_fake")
        if critic:
            if Y_real is None or gradInterp is None:
                raise ValueError("module 'C' needs Y_real and gradInterp")
            Y_real = _a.asarray(Y_real, "Y_real")
            gradInterp = _a.asarray(gradInterp, "gradInterp")
            if gradInterp.ndim != 2:
                raise ValueError("gradInterp must have shape (n_ex, n_feats), got %s"
                                 % (gradInterp.shape,))
            dtype = _a.compute_dtype(Y_fake, Y_real, gradInterp)
        else:
            dtype = _a.compute_dtype(Y_fake)
        fake = _a.contiguous(Y_fake.reshape(-1), dtype)
        params = _lib.WganGpParams(float(self.lambda_), 1)
        loss = _lib.c_double()
        d_fake = np.empty(fake.shape, dtype) if want_grad else None
        d_real = d_interp = None
        real_addr = interp_addr = None
        n_real = n = n_feats = 0
        ld = 1
        if critic:
            real = _a.contiguous(Y_real.reshape(-1), dtype)
            if want_grad:
                interp = _a.contiguous(gradInterp, dtype)
                ld = gradInterp.shape[1]
                d_real = np.empty(real.shape, dtype)
                d_interp = np.empty(interp.shape, dtype)
            else:
                interp, ld = _a.rows(gradInterp, dtype)
            n_real, (n, n_feats) = real.size, interp.shape
            real_addr, interp_addr = _a.addr(real), _a.addr(interp)
        fn = _L.fastloss_wgangp_f32 if dtype == _a.F32 else _L.fastloss_wgangp_f64
        _lib.check(fn(ord(module), fake.size, _a.addr(fake), n_real, real_addr, n, n_feats,
                      interp_addr, max(ld, 1), byref(params),
                      byref(loss) if want_loss else None,
                      _a.addr(d_fake) if d_fake is not None else None,
                      _a.addr(d_real) if d_real is not None else None,
                      _a.addr(d_interp) if d_interp is not None else None))
        if not want_grad:
            return _scalar(loss.value, dtype), None
        d_fake = d_fake.reshape(Y_fake.shape)
        if not critic:
            return _scalar(loss.value, dtype), d_fake
        d_real = d_real.reshape(Y_real.shape)
        if self.numpy_ml_signs:
            np.negative(d_fake, out=d_fake)
            np.negative(d_real, out=d_real)
        return _scalar(loss.value, dtype), (d_fake, d_real, d_interp)

    def loss(self, Y_fake, module, Y_real=None, gradInterp=None):
        return self._run(Y_fake, module, Y_real, gradInterp, True, False)[0]

    def grad(self, Y_fake, module, Y_real=None, gradInterp=None):
        """'C': (dY_fake, dY_real, dGradInterp); 'G': dY_fake."""
        return self._run(Y_fake, module, Y_real, gradInterp, False, True)[1]
