"""Reference reader for the IDX differential test (tests/io/test_idx.cpp).

For each file named on the command line prints one line, "ok" or
"refused: <reason>", deciding as aigc's ag_idx_read should: gzip (the file
starts with 1f 8b) through Python's gzip.decompress, anything else as plain
bytes, then the IDX header and exact length checked the way idx.c checks
them. Only the standard library is used.
"""
import gzip
import struct
import sys
import zlib

TYPE_SIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
MAX_RANK = 8
MAX_BYTES = 1 << 32  # AG_IDX_MAX_BYTES


def content(data):
    """The IDX bytes: gzip-decompressed when the gzip magic is there."""
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return data


def check_idx(b):
    """Raises ValueError unless `b` is exactly one IDX file under the cap."""
    if len(b) < 4:
        raise ValueError("truncated header")
    if b[0] != 0 or b[1] != 0 or b[2] not in TYPE_SIZE:
        raise ValueError("bad magic")
    rank = b[3]
    if not 1 <= rank <= MAX_RANK:
        raise ValueError("rank")
    if len(b) < 4 + 4 * rank:
        raise ValueError("dims missing")
    dims = struct.unpack(">%dI" % rank, b[4:4 + 4 * rank])
    esize = TYPE_SIZE[b[2]]
    span, count = esize, 1
    for d in dims:  # zero dims do not excuse the others (ag_shape_size)
        if d:
            span *= d
        count *= d
    if span > MAX_BYTES:
        raise ValueError("dims promise too much")
    if len(b) != 4 + 4 * rank + count * esize:
        raise ValueError("length %d, header wants %d" % (len(b), 4 + 4 * rank + count * esize))


def verdict(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        check_idx(content(data))
    except (OSError, EOFError, ValueError, zlib.error) as e:
        return "refused: %s: %s" % (type(e).__name__, e)
    return "ok"


def main():
    for path in sys.argv[1:]:
        print(verdict(path))


if __name__ == "__main__":
    main()
