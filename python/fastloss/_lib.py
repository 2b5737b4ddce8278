"""ctypes binding of libfastloss: loading, prototypes, statuses as exceptions.

Everything here is private; the public names are re-exported by
fastloss/__init__.py.  Pointers are passed as plain integers (c_void_p), which
is the cheapest way through ctypes: the callers take them from
``array.ctypes.data`` / ``tensor.data_ptr()`` after checking dtype, shape and
strides themselves.
"""
import ctypes
import os

from . import _config

# ------------------------------------------------------------ the library


def _candidates():
    env = os.environ.get("FASTLOSS_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    if _config.BUILD_PACKAGE_DIR and os.path.realpath(here) == os.path.realpath(
            _config.BUILD_PACKAGE_DIR):
        yield _config.BUILD_LIBRARY
        return
    if _config.INSTALL_PYTHON_DIR and _config.INSTALL_LIBRARY_DIR:
        rel = os.path.relpath(_config.INSTALL_LIBRARY_DIR, _config.INSTALL_PYTHON_DIR)
        site = os.path.dirname(here)
        for name in (_config.SONAME, _config.LIBRARY_NAME):
            yield os.path.normpath(os.path.join(site, rel, name))
        for name in (_config.SONAME, _config.LIBRARY_NAME):
            yield os.path.join(_config.INSTALL_LIBRARY_DIR, name)
    yield _config.SONAME or "libfastloss.so.0"


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc))
    raise ImportError("fastloss: cannot load libfastloss; tried: " + "; ".join(tried)
                      + ". Set FASTLOSS_LIBRARY to the path of libfastloss.so.")


lib, library_path = _load()

# ------------------------------------------------------------- prototypes

c_int, c_int32, c_uint, c_size_t = ctypes.c_int, ctypes.c_int32, ctypes.c_uint, ctypes.c_size_t
c_double, c_void_p, c_char_p = ctypes.c_double, ctypes.c_void_p, ctypes.c_char_p
c_uint64, c_float = ctypes.c_uint64, ctypes.c_float
POINTER = ctypes.POINTER
P = c_void_p  # any buffer, passed as an integer address


class XentParams(ctypes.Structure):
    _fields_ = [("reduction", c_int), ("use_ignore_index", c_int), ("ignore_index", c_int32),
                ("label_smoothing", c_double), ("weight_f32", P), ("weight_f64", P)]


class Activation(ctypes.Structure):
    _fields_ = [("kind", c_int), ("alpha", c_double), ("slope", c_double),
                ("intercept", c_double), ("use_params", c_int), ("exact", c_int)]


class VaeParams(ctypes.Structure):
    _fields_ = [("from_logits", c_int)]


class WganGpParams(ctypes.Structure):
    _fields_ = [("lambda_", c_double), ("use_lambda", c_int)]


class Optimizer(ctypes.Structure):
    _fields_ = [("kind", c_int), ("lr", c_double), ("momentum", c_double),
                ("clip_norm", c_double), ("decay", c_double), ("decay1", c_double),
                ("decay2", c_double), ("eps", c_double), ("lazy", c_int)]


class NceConfig(ctypes.Structure):
    _fields_ = [("dtype", c_int), ("n_classes", c_size_t), ("n_in", c_size_t),
                ("num_negative_samples", c_size_t), ("sampler", P),
                ("optimizer", Optimizer), ("init", c_int), ("negative_sampling", c_int),
                ("accidental_hits", c_int), ("seed", c_uint64)]


class Rng(ctypes.Structure):
    _fields_ = [("key", c_uint64), ("stream", c_uint64), ("counter", c_uint64),
                ("buffer", ctypes.c_uint32 * 4), ("used", ctypes.c_uint32)]


class NslossParams(ctypes.Structure):
    _fields_ = [("reduction", c_int)]


def _proto(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


S = c_int  # fastloss_status
_proto("fastloss_status_str", c_char_p, c_int)
_proto("fastloss_last_error", c_char_p)
_proto("fastloss_version", c_char_p)
_proto("fastloss_cpu_features", c_uint)
_proto("fastloss_set_isa", S, c_int)
_proto("fastloss_get_isa", c_int)
_proto("fastloss_isa_name", c_char_p, c_int)
_proto("fastloss_set_num_threads", S, c_int)
_proto("fastloss_get_num_threads", c_int)
for t in ("f32", "f64"):
    _proto("fastloss_crossentropy_loss_" + t, S, c_size_t, c_size_t, P, P, P)
    _proto("fastloss_crossentropy_grad_" + t, S, c_size_t, c_size_t, P, P, P)
    _proto("fastloss_xent_" + t, S, c_size_t, c_size_t, P, c_size_t, P, P, P, P, P, c_size_t)
    _proto("fastloss_xent_soft_" + t, S, c_size_t, c_size_t, P, c_size_t, P, c_size_t, P, P, P,
           P, c_size_t)
    _proto("fastloss_vae_" + t, S, c_size_t, c_size_t, c_size_t, P, c_size_t, P, c_size_t, P, P,
           c_size_t, P, P, P, P, P, P, P)
    _proto("fastloss_activation_fn_" + t, S, P, c_size_t, P, P)
    _proto("fastloss_activation_grad_" + t, S, P, c_size_t, P, P)
    _proto("fastloss_sqerr_loss_" + t, S, c_size_t, c_size_t, P, P, P)
    _proto("fastloss_sqerr_grad_" + t, S, c_size_t, c_size_t, P, P, P, P, P)
    _proto("fastloss_wgangp_" + t, S, c_int, c_size_t, P, c_size_t, P, c_size_t, c_size_t, P,
           c_size_t, P, P, P, P, P)
    _proto("fastloss_nce_loss_" + t, S, P, c_size_t, c_size_t, c_size_t, P, P, P, c_int, P, P)
    _proto("fastloss_nce_grad_" + t, S, P, c_int, c_int, P)
_proto("fastloss_sampler_create", S, P, P, c_size_t, c_int, c_int, c_uint64)
_proto("fastloss_sampler_destroy", None, P)
_proto("fastloss_rng_init", None, P, c_uint64, c_uint64)
_proto("fastloss_sampler_sample_rng", S, P, P, c_size_t, P)
_proto("fastloss_sampler_sample", S, P, c_size_t, P)
_proto("fastloss_sampler_prob", S, P, c_size_t, P)
_proto("fastloss_sampler_size", c_size_t, P)
_proto("fastloss_nsloss_f32", S, c_size_t, c_size_t, P, P, c_size_t, P, P, c_size_t, P, P, P, P,
       P, P)
_proto("fastloss_nce_create", S, P, P)
_proto("fastloss_nce_destroy", None, P)
_proto("fastloss_nce_pending", S, P, P, P)
for name in ("update", "flush_gradients", "freeze", "unfreeze"):
    _proto("fastloss_nce_" + name, S, P)
_proto("fastloss_nce_params", S, P, P, P, P, P)
_proto("fastloss_nce_gradients_written", S, P)

# --------------------------------------------------------------- statuses

OK = 0
NULL_POINTER, INVALID_SHAPE, SIZE_OVERFLOW, INVALID_STRIDE, LABEL_OUT_OF_RANGE = 1, 2, 3, 4, 5
INVALID_ARGUMENT, NOT_BINARY, NOT_STOCHASTIC, UNSUPPORTED_ISA, OUT_OF_MEMORY = 6, 7, 8, 9, 10
OVERLAP, INVALID_STATE = 11, 12


class FastlossError(Exception):
    """An error status from libfastloss.

    ``status`` is the numeric fastloss_status, ``status_name`` its name
    (fastloss_status_str) and ``detail`` fastloss_last_error()'s message; the
    exception's text is ``"<status_name>: <detail>"``.  Every instance is also
    an instance of the matching built-in exception (ValueError, IndexError,
    MemoryError or RuntimeError), so callers can catch either.
    """

    def __init__(self, status, status_name, detail):
        super().__init__("%s: %s" % (status_name, detail) if detail else status_name)
        self.status = status
        self.status_name = status_name
        self.detail = detail


class FastlossValueError(FastlossError, ValueError):
    """A bad argument: shape, stride, value, overlap (see FastlossError)."""


class FastlossIndexError(FastlossError, IndexError):
    """A class id outside [0, n_classes) (see FastlossError)."""


class FastlossMemoryError(FastlossError, MemoryError):
    """An allocation inside libfastloss failed (see FastlossError)."""


class FastlossRuntimeError(FastlossError, RuntimeError):
    """A call not allowed now, or an ISA this host cannot run (see FastlossError)."""


_EXCEPTIONS = {LABEL_OUT_OF_RANGE: FastlossIndexError, OUT_OF_MEMORY: FastlossMemoryError,
               INVALID_STATE: FastlossRuntimeError, UNSUPPORTED_ISA: FastlossRuntimeError}


def error(status):
    """The exception for a non-OK status, with this thread's last error."""
    name = lib.fastloss_status_str(status)
    name = name.decode() if name else "FASTLOSS_STATUS_%d" % status
    detail = (lib.fastloss_last_error() or b"").decode("utf-8", "replace")
    return _EXCEPTIONS.get(status, FastlossValueError)(status, name, detail)


def check(status):
    if status:
        raise error(status)
