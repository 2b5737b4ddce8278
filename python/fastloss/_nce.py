"""numpy-ml's DiscreteSampler and NCELoss over fastloss_sampler_* and fastloss_nce_*."""
import ast
import re
from ctypes import byref

import numpy as np

from . import _arrays as _a
from . import _lib

_L = _lib.lib


def _seed(seed):
    # None draws from numpy's global generator, so np.random.seed() makes a
    # script reproducible as it does with numpy-ml.
    if seed is None:
        return int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    return int(seed) & (2**64 - 1)


class _Handle:
    """Owns a C object; destroyed when the last Python reference goes."""

    def __init__(self, ptr, destroy):
        self.ptr = ptr
        self._destroy = destroy

    def __del__(self):
        if self.ptr:
            self._destroy(self.ptr)
            self.ptr = None


class _View:
    """An array over C memory that keeps the C object alive."""

    def __init__(self, owner, address, shape, dtype):
        self._owner = owner
        self.__array_interface__ = {"data": (address, False), "shape": shape,
                                    "typestr": dtype.str, "version": 3}


class DiscreteSampler:
    """numpy-ml's DiscreteSampler(probs, log=False, with_replacement=True):
    draws class ids from ``probs`` by Vose's alias method (O(N) to build,
    O(1) per draw), in C.  ``probs`` may be probabilities, counts (they are
    normalised) or, with log=True, log-probabilities.  Without replacement the
    draws of one call are distinct.

    ``seed`` (beyond numpy-ml) seeds the sampler's own stream (Philox); by
    default it is drawn from numpy's global generator, so np.random.seed()
    makes runs reproducible (the draws themselves differ from numpy-ml's).
    ``sample`` returns an int64 array as numpy-ml does.  Attributes as
    numpy-ml: probs (as given), log, with_replacement, N.
    """

    def __init__(self, probs, log=False, with_replacement=True, seed=None):
        self.probs = np.array(probs)
        self.log = bool(log)
        self.with_replacement = bool(with_replacement)
        self.N = len(self.probs)
        weights = np.ascontiguousarray(self.probs, dtype=np.float64).reshape(-1)
        self._weights = weights
        ptr = _lib.c_void_p()
        _lib.check(_L.fastloss_sampler_create(byref(ptr), _a.addr(weights), weights.size,
                                              int(self.log), int(self.with_replacement),
                                              _seed(seed)))
        self._handle = _Handle(ptr.value, _L.fastloss_sampler_destroy)

    def __call__(self, n_samples=1):
        return self.sample(n_samples)

    def __str__(self):
        return "DiscreteSampler(N={}, log={}, with_replacement={})".format(
            self.N, self.log, self.with_replacement)

    def sample(self, n_samples=1):
        out = np.empty(int(n_samples), np.int32)
        if out.size:
            _lib.check(_L.fastloss_sampler_sample(self._handle.ptr, out.size, _a.addr(out)))
        return out.astype(np.int64)

    def prob(self, i):
        """The normalised probability of class i (beyond numpy-ml)."""
        p = _lib.c_double()
        _lib.check(_L.fastloss_sampler_prob(self._handle.ptr, int(i), byref(p)))
        return p.value


# ------------------------------------------------------------- optimizers

_OPT_KINDS = {"sgd": 0, "adagrad": 1, "rmsprop": 2, "adam": 3}
_OPT_NAMES = {0: "SGD", 1: "AdaGrad", 2: "RMSProp", 3: "Adam"}
_OPT_DEFAULTS = {0: {"lr": 0.01, "momentum": 0.0, "clip_norm": None},
                 1: {"lr": 0.01, "eps": 1e-7, "clip_norm": None},
                 2: {"lr": 0.001, "decay": 0.9, "eps": 1e-7, "clip_norm": None},
                 3: {"lr": 0.001, "decay1": 0.9, "decay2": 0.999, "eps": 1e-7,
                     "clip_norm": None}}
_OPT_FIELDS = ("lr", "momentum", "clip_norm", "decay", "decay1", "decay2", "eps", "lazy")


class _OptimizerSpec:
    """The optimizer an NCELoss runs in C, described as numpy-ml describes one."""

    def __init__(self, kind, hp):
        self.kind = kind
        self.hyperparameters = dict({"id": _OPT_NAMES[kind]}, **_OPT_DEFAULTS[kind])
        self.hyperparameters.update({k: v for k, v in hp.items() if k in _OPT_FIELDS})
        self.cache = {}

    def struct(self):
        s = _lib.Optimizer()
        s.kind = self.kind
        for k in _OPT_FIELDS:
            v = self.hyperparameters.get(k)
            if v is not None:
                setattr(s, k, int(v) if k == "lazy" else float(v))
        return s

    def __str__(self):
        hp = self.hyperparameters
        return "%s(%s)" % (hp["id"], ", ".join("%s=%s" % (k, v) for k, v in hp.items()
                                              if k != "id"))


def _optimizer(spec):
    """None (SGD), a name ("adam", "SGD(lr=0.1, momentum=0.9)"), a dict with
    "id", or numpy-ml's optimizer objects (read through their hyperparameters)."""
    if spec is None:
        return _OptimizerSpec(0, {})
    if isinstance(spec, _OptimizerSpec):
        return spec
    if isinstance(spec, str):
        m = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", spec)
        kind = _OPT_KINDS.get(m.group(1).lower()) if m else None
        if kind is None:
            raise ValueError("unknown optimizer %r (SGD, AdaGrad, RMSProp, Adam)" % spec)
        hp = {}
        if m.group(2) and m.group(2).strip():
            for item in m.group(2).split(","):
                k, _, v = item.partition("=")
                hp[k.strip()] = ast.literal_eval(v.strip())
        return _OptimizerSpec(kind, hp)
    hp = spec if isinstance(spec, dict) else getattr(spec, "hyperparameters", None)
    if not isinstance(hp, dict):
        raise TypeError("optimizer must be None, a name, a dict or an optimizer object")
    name = str(hp.get("id", type(spec).__name__)).lower()
    if name not in _OPT_KINDS:
        raise ValueError("unknown optimizer %r (SGD, AdaGrad, RMSProp, Adam)" % name)
    return _OptimizerSpec(_OPT_KINDS[name], hp)


_NEGATIVE_STREAM = 2  # src/nce.c: FL_NCE_STREAM_NEGATIVES
_DERIVED_KEYS = ("y_pred", "target", "true_w", "true_b", "sampled_b", "sampled_w", "out_labels",
                 "target_logits", "noise_samples", "noise_logits")
_INITS = {"glorot_uniform": 0, "glorot_normal": 1, "he_uniform": 2, "he_normal": 3}
_HITS = {"keep": 0, "remove": 1, "numpy-ml": 2}


class NCELoss:
    """numpy-ml's NCELoss(n_classes, noise_sampler, num_negative_samples,
    optimizer=None, init='glorot_uniform', subtract_log_label_prob=True) on
    fastloss_nce_*: noise-contrastive estimation (or negative sampling with
    subtract_log_label_prob=False), one set of num_negative_samples
    negatives shared by the minibatch, parameters W (n_classes, n_in) and b
    (1, n_classes) held in C and updated there by numpy-ml's optimizers.

    Methods as numpy-ml: loss(X, target, neg_samples=None,
    retain_derived=True) -> (loss, y_pred (n_ex, n_c)); grad(retain_grads=True,
    update_params=True) -> dX (n_ex, n_c, n_in), or a list of them when
    several loss() calls preceded; update(); flush_gradients(); freeze();
    unfreeze(); attributes parameters (a dict of arrays that view the C
    object's W and b: write into them in place), gradients (read-only views
    of the accumulated dW and db; assign ``loss.gradients = {"W": dW, "b":
    db}``, either key optional, to write them), hyperparameters, trainable.
    X of a retained loss() call is read again by grad(): do not modify it
    in between (numpy-ml reads it again too).

    noise_sampler is a fastloss DiscreteSampler (or any object with numpy-ml's
    ``probs``/``log``, from which one is built).  optimizer: None (SGD), a
    name such as "Adam(lr=0.01)", a dict, or a numpy-ml optimizer object
    (its hyperparameters are used; learning-rate schedulers are not).

    Differences from numpy-ml's code:
    - accidental hits (a negative equal to an example's target): numpy-ml's
      code drops the target's dW/db contribution for that example but keeps
      its loss term and dX, so its gradient is not that of its loss.  That is
      the default here (accidental_hits='numpy-ml'); 'keep' gives the true
      gradient, 'remove' TensorFlow's remove_accidental_hits.
    - the logit gradient is sigmoid(z) - label also where the probability
      clip at [eps, 1 - eps] is active (numpy-ml's chain through the clip
      gives the same value, away from the clip).
    - grad/update/flush_gradients on a frozen loss raise RuntimeError
      (numpy-ml: AssertionError).
    Beyond numpy-ml: seed (initialisation and negatives; default from numpy's
    global generator), n_in (create W now instead of at the first X), dtype
    ('float32' or 'float64'; default: the first X's).
    """

    def __init__(self, n_classes, noise_sampler, num_negative_samples, optimizer=None,
                 init="glorot_uniform", subtract_log_label_prob=True,
                 accidental_hits="numpy-ml", seed=None, n_in=None, dtype=None):
        if init not in _INITS:
            raise ValueError("init must be one of %s, got %r" % (", ".join(_INITS), init))
        if accidental_hits not in _HITS:
            raise ValueError("accidental_hits must be one of %s, got %r"
                             % (", ".join(_HITS), accidental_hits))
        self.init = init
        self.n_in = None
        self.trainable = True
        self.n_classes = int(n_classes)
        if not isinstance(noise_sampler, DiscreteSampler):
            noise_sampler = DiscreteSampler(noise_sampler.probs,
                                            log=getattr(noise_sampler, "log", False))
        self.noise_sampler = noise_sampler
        self.num_negative_samples = int(num_negative_samples)
        self.optimizer = _optimizer(optimizer)
        self.subtract_log_label_prob = bool(subtract_log_label_prob)
        self.accidental_hits = accidental_hits
        self._seed = _seed(seed)
        self.is_initialized = False
        self._handle = None
        self._retained = []
        self._derived = []
        if n_in is not None:
            self._init_params(int(n_in), np.dtype(dtype or np.float64))

    def _init_params(self, n_in, dtype):
        dtype = _a.F32 if dtype == _a.F32 else _a.F64
        c = _lib.NceConfig()
        c.dtype = 0 if dtype == _a.F32 else 1
        c.n_classes, c.n_in = self.n_classes, n_in
        c.num_negative_samples = self.num_negative_samples
        c.sampler = self.noise_sampler._handle.ptr
        c.optimizer = self.optimizer.struct()
        c.init = _INITS[self.init]
        c.negative_sampling = 0 if self.subtract_log_label_prob else 1
        c.accidental_hits = _HITS[self.accidental_hits]
        c.seed = self._seed
        ptr = _lib.c_void_p()
        _lib.check(_L.fastloss_nce_create(byref(ptr), byref(c)))
        self._handle = _Handle(ptr.value, _L.fastloss_nce_destroy)
        self._handle.sampler = self.noise_sampler  # the C object reads it
        self._dtype = dtype
        self.n_in = n_in
        pointers = [_lib.c_void_p() for _ in range(4)]
        _lib.check(_L.fastloss_nce_params(self._handle.ptr, *(byref(p) for p in pointers)))
        shapes = [(self.n_classes, n_in), (1, self.n_classes)] * 2
        self._views = [np.asarray(_View(self._handle, p.value, s, dtype))
                       for p, s in zip(pointers, shapes)]
        # dW and db are handed out read-only: the C object updates and clears
        # only the rows grad() touched, so a write must go through the
        # gradients setter, which tells it (fastloss_nce_gradients_written).
        self._gradient_views = [v.view() for v in self._views[2:]]
        for v in self._gradient_views:
            v.flags.writeable = False
        # The C object's negative stream (fastloss_nce_create: the config's
        # seed, stream 2), drawn here with the same public calls so that the
        # negatives of every call are known (derived_variables) and passed
        # in explicitly: the draws are the ones the object would make.
        self._rng = _lib.Rng()
        _L.fastloss_rng_init(byref(self._rng), self._seed, _NEGATIVE_STREAM)
        self.is_initialized = True

    @property
    def parameters(self):
        return {"W": self._views[0], "b": self._views[1]} if self.is_initialized else {}

    @property
    def gradients(self):
        """Read-only views of the accumulated dW (n_classes, n_in) and db
        (1, n_classes); assign a dict to write them (see the setter)."""
        if not self.is_initialized:
            return {}
        return {"W": self._gradient_views[0], "b": self._gradient_views[1]}

    @gradients.setter
    def gradients(self, values):
        """``loss.gradients = {"W": dW, "b": db}`` (either key optional; values
        broadcast to the shapes above) replaces the accumulated gradients;
        the next update() applies them to every row and update() or
        flush_gradients() clears them.  Costs O(n_classes * n_in) once."""
        ptr = self._ptr()
        unknown = set(values) - {"W", "b"}
        if unknown:
            raise KeyError("gradients has keys 'W' and 'b', got %s" % ", ".join(sorted(unknown)))
        # Every conversion before anything is written.
        new = [(self._views[2 + i], np.broadcast_to(np.asarray(values[key], self._dtype),
                                                    self._views[2 + i].shape))
               for i, key in enumerate(("W", "b")) if key in values]
        _lib.check(_L.fastloss_nce_gradients_written(ptr))
        for view, value in new:
            view[...] = value

    @property
    def hyperparameters(self):
        return {
            "id": "NCELoss",
            "n_in": self.n_in,
            "init": self.init,
            "n_classes": self.n_classes,
            "noise_sampler": self.noise_sampler,
            "num_negative_samples": self.num_negative_samples,
            "subtract_log_label_prob": self.subtract_log_label_prob,
            "optimizer": {"cache": self.optimizer.cache,
                          "hyperparameters": self.optimizer.hyperparameters},
        }

    def __call__(self, X, target, neg_samples=None, retain_derived=True):
        return self.loss(X, target, neg_samples, retain_derived)

    def __str__(self):
        keys = ["{}={}".format(k, v) for k, v in self.hyperparameters.items()
                if k not in ("id", "optimizer")] + ["optimizer={}".format(self.optimizer)]
        return "NCELoss({})".format(", ".join(keys))

    def _ptr(self):
        if self._handle is None:
            raise _lib.FastlossRuntimeError(_lib.INVALID_STATE, "FASTLOSS_ERR_INVALID_STATE",
                                            "NCELoss has no parameters before its first loss()")
        return self._handle.ptr

    def freeze(self):
        if self._handle is not None:
            _lib.check(_L.fastloss_nce_freeze(self._handle.ptr))
        self.trainable = False

    def unfreeze(self):
        if self._handle is not None:
            _lib.check(_L.fastloss_nce_unfreeze(self._handle.ptr))
        self.trainable = True

    def flush_gradients(self):
        _lib.check(_L.fastloss_nce_flush_gradients(self._ptr()))
        self._retained = []
        self._derived = []

    def update(self, cur_loss=None):
        _lib.check(_L.fastloss_nce_update(self._ptr()))
        self._retained = []
        self._derived = []

    def loss(self, X, target, neg_samples=None, retain_derived=True):
        X = _a.asarray(X, "X")
        if X.ndim != 3:
            raise ValueError("X must have shape (n_ex, n_c, n_in), but got {} dims instead"
                             .format(X.ndim))
        if not self.is_initialized:
            self._init_params(X.shape[-1], X.dtype)
            if not self.trainable:
                _lib.check(_L.fastloss_nce_freeze(self._handle.ptr))
        n_ex, n_c, n_in = X.shape
        if n_in != self.n_in:
            raise ValueError("X has n_in = %d, the loss %d" % (n_in, self.n_in))
        X = _a.contiguous(X, self._dtype)
        target = _a.labels_int32(target, "target").reshape(-1)
        if target.size != n_ex:
            raise ValueError("target must have shape (%d,), got %d entries" % (n_ex, target.size))
        neg = None
        if neg_samples is not None:
            neg = _a.labels_int32(neg_samples, "neg_samples").reshape(-1)
            if neg.size != self.num_negative_samples:
                raise ValueError("neg_samples must have num_negative_samples = %d entries, got %d"
                                 % (self.num_negative_samples, neg.size))
        rng = None
        if neg is None and self.trainable:  # a frozen loss uses no negatives
            rng = _lib.Rng.from_buffer_copy(self._rng)
            neg = np.empty(self.num_negative_samples, _a.I32)
            _lib.check(_L.fastloss_sampler_sample_rng(self.noise_sampler._handle.ptr, byref(rng),
                                                      neg.size, _a.addr(neg)))
        loss = _lib.c_double()
        y_pred = np.empty((n_ex, n_c), self._dtype)
        fn = _L.fastloss_nce_loss_f32 if self._dtype == _a.F32 else _L.fastloss_nce_loss_f64
        _lib.check(fn(self._handle.ptr, n_ex, n_c, n_in, _a.addr(X), _a.addr(target),
                      _a.addr(neg) if neg is not None else None, int(bool(retain_derived)),
                      byref(loss), _a.addr(y_pred)))
        if rng is not None:
            self._rng = rng  # the stream advances only on success, as in C
        if retain_derived:
            if self.trainable:
                self._retained.append(X)  # read again by grad()
            self._derived.append(self._snapshot(X, target, neg if self.trainable else None))
        return self._dtype.type(loss.value), y_pred

    def _snapshot(self, X, target, neg):
        """What derived_variables needs of one call: the rows of W and b it
        read, copied now (update() and writes into W change them later)."""
        W, b = self._views[0], self._views[1][0]
        rows = {"X": X, "target": target, "true_w": W[target], "true_b": b[target], "neg": neg}
        if neg is not None:
            rows["sampled_w"], rows["sampled_b"] = W[neg], b[neg]
        return rows

    @property
    def derived_variables(self):
        """numpy-ml's derived_variables: for every loss() call retained
        since the last grad(), update() or flush_gradients(), in order,
        "y_pred" (n_ex, n_c, 1 + k) probabilities, clipped to [eps, 1 - eps]
        (the target's first; (n_ex, n_c, 1) when frozen), "target",
        "out_labels" (1 for the target column, 0 for the negatives),
        "target_logits" (n_ex, n_c, 1), "noise_logits" (n_ex, n_c, k) and
        "noise_samples" = (negatives (k,), Q(target) (1, n_ex), Q(negatives)
        (k,)) with Q the sampler's normalised probabilities.  "true_w",
        "true_b", "sampled_w" and "sampled_b" stay empty, as in numpy-ml.
        Computed in numpy on access from X (which must stay unchanged until
        grad(), as for the loss itself) and the rows of W and b copied at
        the loss() call; grad() clears them (numpy-ml's grad clears them
        only when it updates)."""
        out = {key: [] for key in _DERIVED_KEYS}
        if not self.is_initialized:
            return out
        dtype = self._dtype
        eps = np.finfo(dtype).eps
        sampler = self.noise_sampler
        for call in self._derived:
            X, target, neg = call["X"], call["target"], call["neg"]
            p_target = np.array([[sampler.prob(t) for t in target]])
            s = 1.0 if self.subtract_log_label_prob else 0.0
            z_t = (np.einsum("icd,id->ic", X, call["true_w"]) + call["true_b"][:, None]
                   - s * np.log(p_target[0])[:, None]).astype(dtype)[..., None]
            k = 0 if neg is None else neg.size
            if neg is not None:
                p_neg = np.array([sampler.prob(n) for n in neg])
                z_n = (X @ call["sampled_w"].T + call["sampled_b"]
                       - s * np.log(p_neg)).astype(dtype)
                y = np.concatenate((z_t, z_n), axis=-1)
            else:
                p_neg, z_n, y = np.empty(0), np.empty(X.shape[:2] + (0,), dtype), z_t
            y_pred = np.clip(0.5 * (np.tanh(0.5 * y) + 1.0), eps, 1 - eps).astype(dtype)
            labels = np.zeros_like(y_pred)
            labels[..., 0] = 1
            out["y_pred"].append(y_pred)
            out["target"].append(target)
            out["out_labels"].append(labels)
            out["target_logits"].append(z_t)
            out["noise_samples"].append((neg if neg is not None else np.empty(0, np.int32),
                                         p_target, p_neg))
            out["noise_logits"].append(z_n if k else np.empty(X.shape[:2] + (0,), dtype))
        return out

    def grad(self, retain_grads=True, update_params=True):
        ptr = self._ptr()
        calls, elements = _lib.c_size_t(), _lib.c_size_t()
        _lib.check(_L.fastloss_nce_pending(ptr, byref(calls), byref(elements)))
        dX = np.empty(max(elements.value, 1), self._dtype)
        fn = _L.fastloss_nce_grad_f32 if self._dtype == _a.F32 else _L.fastloss_nce_grad_f64
        _lib.check(fn(ptr, int(bool(retain_grads)), int(bool(update_params)), _a.addr(dX)))
        out, at = [], 0
        for X in self._retained:
            out.append(dX[at:at + X.size].reshape(X.shape))
            at += X.size
        self._retained = []
        self._derived = []
        return out[0] if len(out) == 1 else out
