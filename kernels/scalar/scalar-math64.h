/* The elementary functions of the f64 kernels (kernels/scalar/f64-*.c).
 * By default glibc's libm (exp, log, log1p, expm1 and tanh within 1 ULP,
 * erfc within a few); with -Dexp=sleef (FASTLOSS_EXP_SLEEF) SLEEF's scalar
 * double functions, as the f32 kernels use SLEEF's float ones: the u10
 * functions (1.0 ULP) and Sleef_erfc_u15 (1.5 ULP, SLEEF's only erfc). */
#ifndef FASTLOSS_SCALAR_MATH64_H
#define FASTLOSS_SCALAR_MATH64_H

#include <math.h>

#ifdef FASTLOSS_EXP_SLEEF
#include <sleef.h>
#define fl_exp64 Sleef_exp_u10
#define fl_log64 Sleef_log_u10
#define fl_log1p64 Sleef_log1p_u10
#define fl_expm1_64 Sleef_expm1_u10
#define fl_tanh64 Sleef_tanh_u10
#define fl_erfc64 Sleef_erfc_u15
#else
#define fl_exp64 exp
#define fl_log64 log
#define fl_log1p64 log1p
#define fl_expm1_64 expm1
#define fl_tanh64 tanh
#define fl_erfc64 erfc
#endif

#endif
