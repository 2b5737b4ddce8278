"""numpy-ml's activations (numpy_ml.neural_nets.activations) over libfastloss.

fn and grad run fastloss_activation_fn/_grad (float32 stays float32, every
other type is computed in float64); grad2 is plain numpy, float64 math in the
input's dtype, as the C API has no second derivatives.
"""
import ast
import re
from ctypes import byref

import numpy as np

from . import _arrays as _a
from . import _lib

_L = _lib.lib

IDENTITY, AFFINE, SIGMOID, TANH, RELU, LEAKY_RELU, ELU_, SELU_, EXPONENTIAL, SOFTPLUS, \
    HARD_SIGMOID, GELU_ = range(12)

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


_PLAIN_REFS = {}


class ActivationBase:
    """An activation: ``fn(z)`` (also ``__call__``), ``grad(x)``, ``grad2(x)``."""

    _kind = IDENTITY

    def _params(self):
        return {}

    def _struct(self):
        s = _lib.Activation()
        s.kind = self._kind
        s.use_params = 1
        for k, v in self._params().items():
            setattr(s, k, v)
        return s

    def _ref(self):
        """byref of the parameter struct; built once per class for the
        activations without parameters (the common, hot case)."""
        if not self.__dict__:
            cls = type(self)
            ref = _PLAIN_REFS.get(cls)
            if ref is None:
                ref = byref(self._struct())
                if cls._struct is ActivationBase._struct and cls._params is ActivationBase._params:
                    _PLAIN_REFS[cls] = ref
            return ref
        return byref(self._struct())

    def __call__(self, z):
        z = _a.asarray(z, "z")
        if z.ndim == 1:
            z = z.reshape(1, -1)
        return self.fn(z)

    def _run(self, fn32, fn64, z):
        z = _a.asarray(z, "z")
        dtype = _a.float_dtype(z.dtype)
        zc = _a.contiguous(z, dtype)
        out = np.empty(zc.shape, dtype)
        if zc.size:
            fn = fn32 if dtype == _a.F32 else fn64
            _lib.check(fn(byref(self._struct()), zc.size, _a.addr(zc), _a.addr(out)))
        return out

    def fn(self, z):
        """The activation of every element of z (same shape; float32 stays float32)."""
        return self._run(_L.fastloss_activation_fn_f32, _L.fastloss_activation_fn_f64, z)

    def grad(self, x):
        """The first derivative at every element of x."""
        return self._run(_L.fastloss_activation_grad_f32, _L.fastloss_activation_grad_f64, x)

    def grad2(self, x):
        """The second derivative at every element of x (numpy, not the library)."""
        x = _a.asarray(x, "x")
        return self._grad2(x if x.dtype.kind == "f" else x.astype(np.float64))

    def __repr__(self):
        return str(self)


class Identity(ActivationBase):
    _kind = IDENTITY

    def __str__(self):
        return "Identity"

    def _grad2(self, x):
        return np.zeros_like(x)


class Affine(ActivationBase):
    _kind = AFFINE

    def __init__(self, slope=1, intercept=0):
        self.slope = slope
        self.intercept = intercept

    def _params(self):
        return {"slope": float(self.slope), "intercept": float(self.intercept)}

    def __str__(self):
        return "Affine(slope={}, intercept={})".format(self.slope, self.intercept)

    def _grad2(self, x):
        return np.zeros_like(x)


class Sigmoid(ActivationBase):
    _kind = SIGMOID

    def __str__(self):
        return "Sigmoid"

    def _grad2(self, x):
        s = _sigmoid(x)
        return s * (1 - s) * (1 - 2 * s)


class Tanh(ActivationBase):
    _kind = TANH

    def __str__(self):
        return "Tanh"

    def _grad2(self, x):
        t = np.tanh(x)
        return -2 * t * (1 - t * t)


class ReLU(ActivationBase):
    _kind = RELU

    def __str__(self):
        return "ReLU"

    def _grad2(self, x):
        return np.zeros_like(x)


class LeakyReLU(ActivationBase):
    _kind = LEAKY_RELU

    def __init__(self, alpha=0.3):
        self.alpha = alpha

    def _params(self):
        return {"alpha": float(self.alpha)}

    def __str__(self):
        return "Leaky ReLU(alpha={})".format(self.alpha)

    def _grad2(self, x):
        return np.zeros_like(x)


class ELU(ActivationBase):
    _kind = ELU_

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def _params(self):
        return {"alpha": float(self.alpha)}

    def __str__(self):
        return "ELU(alpha={})".format(self.alpha)

    def _grad2(self, x):
        return np.where(x > 0, 0, self.alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


class SELU(ActivationBase):
    _kind = SELU_

    def __init__(self):
        self.alpha = _SELU_ALPHA
        self.scale = _SELU_SCALE

    def __str__(self):
        return "SELU"

    def _grad2(self, x):
        v = np.where(x > 0, 0, self.scale * self.alpha * np.exp(np.minimum(x, 0)))
        return v.astype(x.dtype)


class Exponential(ActivationBase):
    _kind = EXPONENTIAL

    def __str__(self):
        return "Exponential"

    def _grad2(self, x):
        return np.exp(x)


class SoftPlus(ActivationBase):
    _kind = SOFTPLUS

    def __str__(self):
        return "SoftPlus"

    def _grad2(self, x):
        s = _sigmoid(x)
        return s * (1 - s)


class HardSigmoid(ActivationBase):
    _kind = HARD_SIGMOID

    def __str__(self):
        return "Hard Sigmoid"

    def _grad2(self, x):
        return np.zeros_like(x)


class GELU(ActivationBase):
    """GELU(approximate=True): the tanh form by default, the erf form with
    approximate=False.  grad is the true derivative of the form computed
    (numpy-ml's grad with approximate=True mixes in the erf form's density
    term instead)."""

    _kind = GELU_

    def __init__(self, approximate=True):
        self.approximate = approximate

    def _struct(self):
        s = super()._struct()
        s.exact = 0 if self.approximate else 1
        return s

    def __str__(self):
        return "GELU(approximate={})".format(self.approximate)

    def _grad2(self, x):
        if not self.approximate:
            return (np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi) * (2 - x * x)).astype(x.dtype)
        c, a = np.sqrt(2 / np.pi), 0.044715
        t = np.tanh(c * (x + a * x ** 3))
        du = c * (1 + 3 * a * x * x)
        return (1 - t * t) * (du + 0.5 * x * (6 * a * c * x - 2 * t * du * du))


_BY_NAME = {"identity": Identity, "affine": Affine, "sigmoid": Sigmoid, "tanh": Tanh,
            "relu": ReLU, "leakyrelu": LeakyReLU, "elu": ELU, "selu": SELU,
            "exponential": Exponential, "softplus": SoftPlus, "hardsigmoid": HardSigmoid,
            "gelu": GELU}
_PARAMS = {Affine: ("slope", "intercept"), LeakyReLU: ("alpha",), ELU: ("alpha",),
           GELU: ("approximate",)}


def _parse(spec):
    m = re.fullmatch(r"\s*([A-Za-z _-]+?)\s*(?:\((.*)\))?\s*", spec)
    if not m:
        raise ValueError("unknown activation %r" % spec)
    key = re.sub(r"[ _-]", "", m.group(1)).lower()
    cls = _BY_NAME.get(key)
    if cls is None:
        raise ValueError("unknown activation %r (known: %s)" % (spec, ", ".join(_BY_NAME)))
    kwargs = {}
    if m.group(2) and m.group(2).strip():
        for item in m.group(2).split(","):
            k, _, v = item.partition("=")
            k = k.strip()
            if k not in _PARAMS.get(cls, ()):
                raise ValueError("activation %r: unknown parameter %r" % (spec, k))
            kwargs[k] = ast.literal_eval(v.strip())
    return cls(**kwargs)


def activation(spec):
    """An activation object from None (Identity), a name ("tanh",
    "leaky relu(alpha=0.1)", "affine(slope=2, intercept=1)", numpy-ml's
    str() forms), one of this module's objects, or an activation object of
    numpy-ml itself (recognised by class name and parameters).  Returns None
    for any other object, whose own grad() the caller then uses."""
    if spec is None:
        return Identity()
    if isinstance(spec, ActivationBase):
        return spec
    if isinstance(spec, str):
        return _parse(spec)
    cls = _BY_NAME.get(type(spec).__name__.lower())
    if cls is None or not hasattr(spec, "grad"):
        return None
    try:
        return cls(**{k: getattr(spec, k) for k in _PARAMS.get(cls, ())})
    except AttributeError:
        return None
