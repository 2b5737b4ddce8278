/* Placeholder: being written. */
#include "testing.h"

Suite *fl_suite_nce_kernels(void) { return suite_create("nce_kernels"); }
