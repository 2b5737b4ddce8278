/* Placeholder: the NCELoss object is being written. */
typedef int fl_placeholder_nce;
