/* Placeholder: being written. */
#include "testing.h"

Suite *fl_suite_nce(void) { return suite_create("nce"); }
