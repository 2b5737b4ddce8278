/* fastloss._fastpath: the common case of fastloss.torch.cross_entropy in C,
 * and two helpers of the numpy wrappers: the int64 -> int32 class-id
 * conversion of fastloss.xent and arrays' addresses.
 *
 * A CPython extension that needs neither torch's nor fastloss's libraries at
 * link time: fastloss/torch.py hands it the addresses of
 * fastloss_xent_f32 / _f64 from the library ctypes loaded (so both paths
 * run the same library) and torch's objects it compares with.  It reads
 * tensors only through their Python attributes (dtype, layout, is_cpu,
 * shape, stride(), data_ptr()), as the Python path does, at a fraction of
 * the interpreter's cost per attribute.
 *
 * xent(input, target, ignore_index, reduction, label_smoothing, want_grad)
 * returns the loss tensor (want_grad false) or (loss, grad) (want_grad
 * true; want_grad None: (loss, grad) when input requires grad and grad mode
 * is on, else the loss tensor), or None whenever the call is not the plain
 * case it handles: a 2-D
 * float32/float64 CPU strided input with unit-stride rows, an (n,) int64 or
 * int32 CPU target without grad, ignore_index and reduction and smoothing
 * as F.cross_entropy takes them, and (without want_grad) no gradient needed.
 * None also when the C call returns an error: the Python path then repeats
 * the call and raises with fastloss_last_error()'s message.  Nothing is
 * written to any tensor the caller passed.  Tensors built here come from
 * input.new_empty, so they share input's dtype and device. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>

#include "fastloss.h"

typedef fastloss_status (*xent_f32_fn)(size_t, size_t, const float *, size_t, const int32_t *,
                                       const fastloss_xent_params *, float *, double *, float *,
                                       size_t);
typedef fastloss_status (*xent_f64_fn)(size_t, size_t, const double *, size_t, const int32_t *,
                                       const fastloss_xent_params *, double *, double *,
                                       double *, size_t);

static xent_f32_fn xent_f32;
static xent_f64_fn xent_f64;
static PyObject *tensor_type, *float32, *float64, *int64, *int32, *strided, *grad_enabled;
static PyObject *s_dtype, *s_layout, *s_is_cpu, *s_shape, *s_stride, *s_data_ptr,
    *s_requires_grad, *s_new_empty, *s_sum, *s_mean, *s_none, *empty_tuple;

/* Labels up to this many rows are converted on the stack. */
#define STACK_LABELS 256

/* The interned attribute names, made once at import. */
static int intern_names(void) {
  static const struct {
    PyObject **slot;
    const char *name;
  } names[] = {{&s_dtype, "dtype"},         {&s_layout, "layout"},
               {&s_is_cpu, "is_cpu"},       {&s_shape, "shape"},
               {&s_stride, "stride"},       {&s_data_ptr, "data_ptr"},
               {&s_requires_grad, "requires_grad"}, {&s_new_empty, "new_empty"},
               {&s_sum, "sum"},             {&s_mean, "mean"},
               {&s_none, "none"}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    *names[i].slot = PyUnicode_InternFromString(names[i].name);
    if (*names[i].slot == NULL) return -1;
  }
  empty_tuple = PyTuple_New(0);
  return empty_tuple == NULL ? -1 : 0;
}

/* init(xent_f32_address, xent_f64_address, torch): once, from torch.py. */
static PyObject *fp_init(PyObject *self, PyObject *args) {
  (void)self;
  unsigned long long a32, a64;
  PyObject *torch;
  if (!PyArg_ParseTuple(args, "KKO", &a32, &a64, &torch)) return NULL;
  if (a32 == 0 || a64 == 0) {
    PyErr_SetString(PyExc_ValueError, "null function address");
    return NULL;
  }
  PyObject *objs[7] = {0};
  static const char *const attrs[7] = {"Tensor", "float32", "float64", "int64",
                                       "int32",  "strided", "is_grad_enabled"};
  for (int i = 0; i < 7; i++) {
    objs[i] = PyObject_GetAttrString(torch, attrs[i]);
    if (objs[i] == NULL) {
      for (int j = 0; j < i; j++) Py_DECREF(objs[j]);
      return NULL;
    }
  }
  Py_XDECREF(tensor_type);
  Py_XDECREF(float32);
  Py_XDECREF(float64);
  Py_XDECREF(int64);
  Py_XDECREF(int32);
  Py_XDECREF(strided);
  Py_XDECREF(grad_enabled);
  tensor_type = objs[0];
  float32 = objs[1];
  float64 = objs[2];
  int64 = objs[3];
  int32 = objs[4];
  strided = objs[5];
  grad_enabled = objs[6];
  xent_f32 = (xent_f32_fn)(uintptr_t)a32;
  xent_f64 = (xent_f64_fn)(uintptr_t)a64;
  Py_RETURN_NONE;
}

/* 1 when obj.<name> is True, 0 when False, -1 on anything else. */
static int attr_bool(PyObject *obj, PyObject *name) {
  PyObject *v = PyObject_GetAttr(obj, name);
  if (v == NULL) return -1;
  int r = v == Py_True ? 1 : v == Py_False ? 0 : -1;
  Py_DECREF(v);
  return r;
}

/* The checks shared by input and target: a strided CPU torch.Tensor of
 * `dims` dimensions.  Fills shape, strides (in elements), the data address
 * and the dtype (a borrowed identity, compared only).  0 when it is one. */
static int describe(PyObject *t, Py_ssize_t dims, Py_ssize_t *shape, Py_ssize_t *strides,
                    uintptr_t *data, PyObject **dtype, int *requires_grad) {
  if (!PyObject_TypeCheck(t, (PyTypeObject *)tensor_type)) return -1;
  PyObject *v = PyObject_GetAttr(t, s_layout);
  if (v == NULL) return -1;
  int ok = v == strided;
  Py_DECREF(v);
  if (!ok || attr_bool(t, s_is_cpu) != 1) return -1;
  *requires_grad = attr_bool(t, s_requires_grad);
  if (*requires_grad < 0) return -1;
  v = PyObject_GetAttr(t, s_dtype);
  if (v == NULL) return -1;
  *dtype = v; /* kept alive by torch's dtype table */
  Py_DECREF(v);
  PyObject *sh = PyObject_GetAttr(t, s_shape);
  if (sh == NULL) return -1;
  PyObject *st = PyObject_CallMethodNoArgs(t, s_stride);
  ok = st != NULL && PyTuple_Check(sh) && PyTuple_Check(st) && PyTuple_GET_SIZE(sh) == dims &&
       PyTuple_GET_SIZE(st) == dims;
  for (Py_ssize_t i = 0; ok && i < dims; i++) {
    shape[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(sh, i));
    strides[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(st, i));
    ok = !PyErr_Occurred();
  }
  Py_DECREF(sh);
  Py_XDECREF(st);
  if (!ok) return -1;
  PyObject *p = PyObject_CallMethodNoArgs(t, s_data_ptr);
  if (p == NULL) return -1;
  *data = (uintptr_t)PyLong_AsUnsignedLongLong(p);
  Py_DECREF(p);
  return PyErr_Occurred() ? -1 : 0;
}

/* A new tensor like `like` of the given shape (0, 1 or 2 dimensions), and
 * its data address. */
static PyObject *new_empty(PyObject *like, Py_ssize_t dims, Py_ssize_t d0, Py_ssize_t d1,
                           uintptr_t *data) {
  PyObject *size = dims == 0 ? (Py_INCREF(empty_tuple), empty_tuple)
                   : dims == 1 ? Py_BuildValue("(n)", d0)
                               : Py_BuildValue("(nn)", d0, d1);
  if (size == NULL) return NULL;
  PyObject *t = PyObject_CallMethodOneArg(like, s_new_empty, size);
  Py_DECREF(size);
  if (t == NULL) return NULL;
  PyObject *p = PyObject_CallMethodNoArgs(t, s_data_ptr);
  if (p == NULL) {
    Py_DECREF(t);
    return NULL;
  }
  *data = (uintptr_t)PyLong_AsUnsignedLongLong(p);
  Py_DECREF(p);
  if (PyErr_Occurred()) {
    Py_DECREF(t);
    return NULL;
  }
  return t;
}

/* Not the case handled here: clear any error a probe raised, return None. */
static PyObject *decline(void) {
  PyErr_Clear();
  Py_RETURN_NONE;
}

static PyObject *fp_xent(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  (void)self;
  if (nargs != 6 || xent_f32 == NULL) return decline();
  PyObject *input = args[0], *target = args[1], *ignore = args[2], *reduction = args[3];
  PyObject *smoothing = args[4];
  /* want_grad None: a gradient exactly when autograd will want one */
  const int automatic = args[5] == Py_None;
  int want_grad = automatic ? 0 : PyObject_IsTrue(args[5]);
  if (want_grad < 0) return decline();

  fastloss_xent_params params = {0};
  if (!PyUnicode_Check(reduction)) return decline();
  if (PyUnicode_Compare(reduction, s_mean) == 0)
    params.reduction = FASTLOSS_REDUCTION_MEAN;
  else if (PyUnicode_Compare(reduction, s_sum) == 0)
    params.reduction = FASTLOSS_REDUCTION_SUM;
  else if (PyUnicode_Compare(reduction, s_none) == 0)
    params.reduction = FASTLOSS_REDUCTION_NONE;
  else
    return decline();
  if (!PyLong_Check(ignore)) return decline();
  int overflow = 0;
  long long ig = PyLong_AsLongLongAndOverflow(ignore, &overflow);
  if (PyErr_Occurred()) return decline();
  if (!overflow && ig >= INT32_MIN && ig <= INT32_MAX) {
    /* an ignore_index no int32 label can equal ignores nothing */
    params.use_ignore_index = 1;
    params.ignore_index = (int32_t)ig;
  }
  if (!PyFloat_Check(smoothing) && !PyLong_Check(smoothing)) return decline();
  params.label_smoothing = PyFloat_AsDouble(smoothing);
  if (PyErr_Occurred() || !(params.label_smoothing >= 0.0 && params.label_smoothing < 1.0))
    return decline();

  Py_ssize_t shape[2], strides[2], tshape[1], tstrides[1];
  uintptr_t x, y;
  PyObject *dtype, *tdtype;
  int rg, trg;
  if (describe(input, 2, shape, strides, &x, &dtype, &rg) != 0) return decline();
  if (dtype != float32 && dtype != float64) return decline();
  const size_t n = (size_t)shape[0], m = (size_t)shape[1];
  if (shape[0] <= 0 || shape[1] <= 0 || shape[0] > INT32_MAX || strides[1] != 1 ||
      strides[0] < shape[1])
    return decline();
  if (rg && !want_grad) {
    PyObject *on = PyObject_CallNoArgs(grad_enabled);
    if (on == NULL) return decline();
    const int enabled = on == Py_True;
    Py_DECREF(on);
    if (enabled && !automatic) return decline(); /* autograd: the caller's Function */
    want_grad = enabled;
  }
  if (describe(target, 1, tshape, tstrides, &y, &tdtype, &trg) != 0 || trg ||
      (tdtype != int64 && tdtype != int32) || tshape[0] != shape[0])
    return decline();

  /* The labels as int32, read through the target's stride; a class id that
   * does not fit is left to the Python path (IndexError). */
  int32_t stack[STACK_LABELS];
  int32_t *labels = stack;
  if (n > STACK_LABELS) {
    labels = PyMem_Malloc(n * sizeof *labels);
    if (labels == NULL) return PyErr_NoMemory();
  }
  int fits = 1;
  if (tdtype == int64) {
    const int64_t *t = (const int64_t *)y;
    for (size_t i = 0; i < n; i++) {
      const int64_t v = t[(Py_ssize_t)i * tstrides[0]];
      fits &= v >= INT32_MIN && v <= INT32_MAX;
      labels[i] = (int32_t)v;
    }
  } else {
    const int32_t *t = (const int32_t *)y;
    for (size_t i = 0; i < n; i++) labels[i] = t[(Py_ssize_t)i * tstrides[0]];
  }
  PyObject *out = NULL, *grad = NULL, *result = NULL;
  uintptr_t out_data = 0, grad_data = 0;
  if (!fits) goto done;
  const int rows = params.reduction == FASTLOSS_REDUCTION_NONE;
  out = new_empty(input, rows ? 1 : 0, (Py_ssize_t)n, 0, &out_data);
  if (out == NULL) goto done;
  if (want_grad) {
    grad = new_empty(input, 2, (Py_ssize_t)n, (Py_ssize_t)m, &grad_data);
    if (grad == NULL) goto done;
  }
  double loss = 0.0;
  fastloss_status status;
  const size_t ld = (size_t)strides[0];
  Py_BEGIN_ALLOW_THREADS;
  if (dtype == float32)
    status = xent_f32(n, m, (const float *)x, ld, labels, &params, rows ? (float *)out_data : NULL,
                      rows ? NULL : &loss, (float *)grad_data, m);
  else
    status = xent_f64(n, m, (const double *)x, ld, labels, &params,
                      rows ? (double *)out_data : NULL, rows ? NULL : &loss, (double *)grad_data, m);
  Py_END_ALLOW_THREADS;
  if (status != FASTLOSS_OK) goto done;
  if (!rows) {
    if (dtype == float32)
      *(float *)out_data = (float)loss;
    else
      *(double *)out_data = loss;
  }
  if (want_grad) {
    result = PyTuple_Pack(2, out, grad);
  } else {
    result = out;
    out = NULL;
  }
done:
  if (labels != stack) PyMem_Free(labels);
  Py_XDECREF(out);
  Py_XDECREF(grad);
  if (result == NULL) return decline();
  return result;
}

/* Whether a buffer format names a native integer of `size` bytes. */
static int int_format(const char *format, Py_ssize_t itemsize, Py_ssize_t size) {
  if (format == NULL || itemsize != size) return 0;
  if (*format == '=' || *format == '@') format++;
  if (format[1] != '\0') return 0;
  return size == 8 ? (*format == 'l' || *format == 'q') : (*format == 'i' || *format == 'l');
}

/* narrow_i64(src, dst): copies the C-contiguous native int64 buffer src
 * into the int32 buffer dst of the same length (numpy arrays, through the
 * buffer protocol).  Returns -1 when every value fits, else the index of
 * the first that does not (dst is then partly written: the caller's
 * scratch); None when the buffers are not of that kind. */
static PyObject *fp_narrow_i64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  (void)self;
  if (nargs != 2) return decline();
  Py_buffer src, dst;
  if (PyObject_GetBuffer(args[0], &src, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) return decline();
  if (PyObject_GetBuffer(args[1], &dst, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) != 0) {
    PyBuffer_Release(&src);
    return decline();
  }
  PyObject *result = NULL;
  if (int_format(src.format, src.itemsize, 8) && int_format(dst.format, dst.itemsize, 4) &&
      src.len / 8 == dst.len / 4) {
    const int64_t *from = src.buf;
    int32_t *to = dst.buf;
    const Py_ssize_t n = src.len / 8;
    Py_ssize_t bad = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
      const int64_t v = from[i];
      if (v < INT32_MIN || v > INT32_MAX) {
        bad = i;
        break;
      }
      to[i] = (int32_t)v;
    }
    result = PyLong_FromSsize_t(bad);
  }
  PyBuffer_Release(&src);
  PyBuffer_Release(&dst);
  if (result == NULL) return decline();
  return result;
}

/* address(array): the address of the first element of any object with
 * the buffer protocol (numpy arrays of any strides; read-only too), or
 * None when it has none.  What a.ctypes.data gives, without building the
 * ctypes object. */
static PyObject *fp_address(PyObject *self, PyObject *obj) {
  (void)self;
  Py_buffer b;
  if (PyObject_GetBuffer(obj, &b, PyBUF_STRIDES) != 0) return decline();
  PyObject *result = PyLong_FromVoidPtr(b.buf);
  PyBuffer_Release(&b);
  return result;
}

static PyMethodDef methods[] = {
    {"address", fp_address, METH_O, "address(array): its first element's address, or None"},
    {"narrow_i64", (PyCFunction)(void (*)(void))fp_narrow_i64, METH_FASTCALL,
     "narrow_i64(src_int64, dst_int32): -1, the first index that does not fit, or None"},
    {"init", fp_init, METH_VARARGS, "init(xent_f32_address, xent_f64_address, torch)"},
    {"xent", (PyCFunction)(void (*)(void))fp_xent, METH_FASTCALL,
     "xent(input, target, ignore_index, reduction, label_smoothing, want_grad): "
     "loss, (loss, grad), or None when the call is not the plain case"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fastloss._fastpath",
                                    "fastloss.torch.cross_entropy's common case and fastloss.xent's id conversion in C", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastpath(void);
PyMODINIT_FUNC PyInit__fastpath(void) {
  if (intern_names() != 0) return NULL;
  return PyModule_Create(&module);
}
