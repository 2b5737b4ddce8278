"""Runs the Python package's tests (meson test `python`).

Usage: run.py TESTS_DIR [pytest arguments...].  Exits 77, which meson reports
as SKIP, when numpy or pytest is missing: the package needs numpy, the tests
pytest (Debian: python3-numpy, python3-pytest; scripts/deps installs both).
"""
import sys

try:
    import numpy  # noqa: F401
    import pytest
except ImportError as exc:
    print("python tests skipped: %s (install python3-numpy and python3-pytest)" % exc)
    sys.exit(77)

tests_dir = sys.argv[1]
# No cache directory in the source tree; -rs lists what was skipped and why.
sys.exit(pytest.main([tests_dir, "-q", "-rs", "-p", "no:cacheprovider"] + sys.argv[2:]))
