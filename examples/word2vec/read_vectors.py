"""Reads word2vec's binary vector format strictly, for the word2vec tests.

The format (word2vec.c, -binary 1): a header line "V size", then V records of
the word, one space, size little-endian float32 values and a newline.  Any
departure (a short record, a missing newline, bytes after the last record)
raises AssertionError, so a test that reads a file also checks its format.
The test scripts put this directory on PYTHONPATH (test-common.sh)."""

import struct


def read_binary(path):
    """Returns (words, rows): the words as bytes, in file order, and one tuple
    of `size` floats per word (float32 values, exact as Python floats)."""
    with open(path, "rb") as f:
        data = f.read()
    header, newline, rest = data.partition(b"\n")
    assert newline, "%s: no header line" % path
    fields = header.split(b" ")
    assert len(fields) == 2 and all(x.isdigit() for x in fields), (
        "%s: header %r is not 'V size'" % (path, header[:40]))
    n, size = int(fields[0]), int(fields[1])
    record = struct.Struct("<%df" % size)
    words, rows, pos = [], [], 0
    for i in range(n):
        end = rest.find(b" ", pos)
        assert end >= 0, "%s: record %d of %d has no word" % (path, i, n)
        words.append(rest[pos:end])
        start = end + 1
        assert start + record.size <= len(rest), "%s: record %d is short" % (path, i)
        rows.append(record.unpack_from(rest, start))
        pos = start + record.size
        assert rest[pos:pos + 1] == b"\n", "%s: no newline after record %d" % (path, i)
        pos += 1
    assert pos == len(rest), "%s: %d bytes after the last record" % (path, len(rest) - pos)
    return words, rows
