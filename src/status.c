/* Status names and the thread-local last-error message. */
#include <stdarg.h>
#include <stdio.h>

#include "config.h"
#include "internal.h"

static _Thread_local char fl_error_message[512];

fastloss_status fl_fail(fastloss_status status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(fl_error_message, sizeof fl_error_message, fmt, args);
  va_end(args);
  return status;
}


const char *fastloss_last_error(void) { return fl_error_message; }

const char *fastloss_status_str(fastloss_status status) {
  switch (status) {
    case FASTLOSS_OK: return "FASTLOSS_OK";
    case FASTLOSS_ERR_NULL_POINTER: return "FASTLOSS_ERR_NULL_POINTER";
    case FASTLOSS_ERR_INVALID_SHAPE: return "FASTLOSS_ERR_INVALID_SHAPE";
    case FASTLOSS_ERR_SIZE_OVERFLOW: return "FASTLOSS_ERR_SIZE_OVERFLOW";
    case FASTLOSS_ERR_INVALID_STRIDE: return "FASTLOSS_ERR_INVALID_STRIDE";
    case FASTLOSS_ERR_LABEL_OUT_OF_RANGE: return "FASTLOSS_ERR_LABEL_OUT_OF_RANGE";
    case FASTLOSS_ERR_INVALID_ARGUMENT: return "FASTLOSS_ERR_INVALID_ARGUMENT";
    case FASTLOSS_ERR_NOT_BINARY: return "FASTLOSS_ERR_NOT_BINARY";
    case FASTLOSS_ERR_NOT_STOCHASTIC: return "FASTLOSS_ERR_NOT_STOCHASTIC";
    case FASTLOSS_ERR_UNSUPPORTED_ISA: return "FASTLOSS_ERR_UNSUPPORTED_ISA";
    case FASTLOSS_ERR_OUT_OF_MEMORY: return "FASTLOSS_ERR_OUT_OF_MEMORY";
    case FASTLOSS_ERR_OVERLAP: return "FASTLOSS_ERR_OVERLAP";
    case FASTLOSS_ERR_INVALID_STATE: return "FASTLOSS_ERR_INVALID_STATE";
  }
  return "FASTLOSS_ERR_UNKNOWN";
}

const char *fastloss_version(void) { return FASTLOSS_VERSION_STRING; }
