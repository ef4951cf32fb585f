#!/usr/bin/env python3
"""Differential test cases for aigc's safetensors reader (tests/io/
test_safetensors_diff.cpp): writes every case below as DIR/<name>.safetensors,
asks the reference (Python `safetensors`) whether it accepts each, and prints
one line per case for the C++ side, which opens the same file with aigc:

  name TAB expect TAB verdict TAB needle TAB summary TAB reason

expect   "same": aigc must accept exactly when the reference does;
         "aigc-limit": the reference accepts a file aigc refuses for a limit
         of its own (listed in runtime/io/safetensors_header.h), which must
         then be refused with `needle` in the message.
verdict  "accept" or "refuse" (both deserialize() over the bytes and
         safe_open() over the file must agree, else "inconsistent").
needle   text aigc's error must contain when it refuses ("" for valid files).
summary  for accepted files, what aigc must read: "name:DTYPE[shape]=hex bytes"
         sorted, ";"-joined, then "|" and the metadata as "key=value" sorted.
reason   the reference's error, for the log.

The files are made here rather than committed: each case is a line of
readable JSON with its intent beside it, and the bytes cannot drift from it.

  safetensors_diff.py DIR     write and judge the cases
Exit 0, or 77 when safetensors is not installed (the C++ test skips)."""
import os
import struct
import sys

try:
    from safetensors import deserialize, safe_open
except ImportError as e:  # the C++ test turns this into a skip
    print(f"missing Python package: {e}", file=sys.stderr)
    sys.exit(77)

E = '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'  # one valid entry
ONE = "{" + E + "}"
D8 = bytes(range(8))


def st(header, data=b"", hlen=None):
    """A file in the format's layout; `hlen` overrides the length field."""
    h = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def entry(dtype="F32", shape="[2]", offsets="[0,8]", extra=""):
    return '{"dtype":%s,"shape":%s,"data_offsets":%s%s}' % (
        '"%s"' % dtype if not dtype.startswith(("{", "1")) else dtype, shape, offsets, extra)


def one(**kw):
    return st('{"a":%s}' % entry(**kw), D8)


def padded(text, pad):
    """Padded so that 8 + header length is a multiple of 8, as writers do."""
    n = -(8 + len(text)) % 8 or 8
    return text + pad * n


VALID = [
    ("valid_basic", st('{"__metadata__":{"format":"pt"},"w":%s,"b":%s}' % (
        entry(shape="[2,2]", offsets="[0,16]"), entry("U8", "[4]", "[16,20]")), bytes(range(20)))),
    ("valid_every_dtype", st('{"f":%s,"h":%s,"b":%s,"i":%s,"u":%s}' % (
        entry("F32", "[1]", "[0,4]"), entry("F16", "[2]", "[4,8]"),
        entry("BF16", "[1,2]", "[8,12]"), entry("I32", "[1]", "[12,16]"),
        entry("U8", "[3]", "[16,19]")), bytes(range(19)))),
    ("valid_space_padding", st(padded(ONE, " "), D8)),
    ("valid_json_whitespace_padding", st(ONE + " \t\r\n", D8)),
    ("valid_leading_whitespace", st(" \n" + ONE, D8)),
    ("valid_spaces_inside", st('{ "a" : { "dtype" : "F32" , "shape" : [ 2 ] , '
                               '"data_offsets" : [ 0 , 8 ] } }', D8)),
    ("valid_empty_object", st("{}")),
    ("valid_metadata_only", st('{"__metadata__":{"k":"v"}}')),
    ("valid_metadata_null", st('{"__metadata__":null,' + E + "}", D8)),
    ("valid_metadata_empty", st('{"__metadata__":{},' + E + "}", D8)),
    ("valid_zero_size_tensors", st('{"z":%s,"a":%s,"y":%s,"s":%s}' % (
        entry(shape="[0]", offsets="[0,0]"), entry(), entry("U8", "[3,0]", "[8,8]"),
        entry(shape="[]", offsets="[8,12]")), bytes(range(12)))),
    ("valid_offsets_not_in_header_order", st('{"b":%s,"a":%s}' % (
        entry(shape="[1]", offsets="[4,8]"), entry(shape="[1]", offsets="[0,4]")), D8)),
    ("valid_extra_fields_ignored", one(extra=',"x":[1.5,-0,1E+2,1e308,true,null,{"y":"\\u0000"}]'
                                        ',"x":123456789012345678901234567890,"dtype\\u0000":1')),
    ("valid_nesting_at_limit", one(extra=',"x":' + "[" * 125 + "]" * 125)),
    ("valid_escaped_names", st('{"\\u0061\\ud83d\\ude00":%s,"caf\u00e9 \\"q\\"":%s}' % (
        entry("\\u0046\\u0033\\u0032", "[1]", "[0,4]"), entry(shape="[1]", offsets="[4,8]")),
        D8)),
    ("valid_escaped_metadata_key", st('{"\\u005f_metadata__":{"k":"a\\nb"},' + E + "}", D8)),
    ("valid_control_escapes_in_name", st('{"a\\tb\\n":%s}' % entry(), D8)),
    ("valid_empty_name", st('{"":%s}' % entry(), D8)),
]

# (name, bytes, needle): the reference refuses these, and so must aigc.
REFUSED = [
    ("empty_file", b"", "shorter than the 8-byte"),
    ("short_header_length", b"\x10\x00\x00", "shorter than the 8-byte"),
    ("header_length_zero", st(""), "does not start with '{'"),
    ("header_length_beyond_file", st(ONE, D8, hlen=10000), "larger than the file"),
    ("header_length_max_u64", st(ONE, D8, hlen=2**64 - 1), "oversized header"),
    ("header_length_over_limit", st(ONE, D8, hlen=100_000_001), "oversized header"),
    ("not_json", st("hello world!", D8), "does not start with '{'"),
    ("json_array", st("[1,2,3]"), "does not start with '{'"),
    ("json_truncated", st('{"a": [1, 2', D8), "not valid JSON"),
    ("utf8_bom", st(b"\xef\xbb\xbf" + ONE.encode(), D8), "does not start with '{'"),
    ("nul_padding", st(ONE.encode() + b"\0\0\0", D8), "trailing bytes"),
    ("garbage_after_object", st(ONE + "  x", D8), "trailing bytes"),
    ("form_feed_whitespace", st("{\f" + E + "}", D8), "not valid JSON"),
    ("raw_nul_between_tokens", st(b'{"a":{"dtype":"F32",\0"shape":[2],"data_offsets":[0,8]}}',
                                  D8), "not valid JSON"),
    ("raw_control_char_in_name", st(b'{"a\x01":' + entry().encode() + b"}", D8),
     "control character"),
    ("invalid_utf8", st(b'{"a\xff":' + entry().encode() + b"}", D8), "not valid UTF-8"),
    ("overlong_utf8", st(b'{"\xc0\x80":' + entry().encode() + b"}", D8), "not valid UTF-8"),
    ("lone_surrogate_name", st('{"\\ud800":%s}' % entry(), D8), "surrogate"),
    ("bad_hex_escape", one(extra=',"x":"\\u12"'), "bad \\u escape"),
    ("invalid_escape", one(extra=',"x":"\\q"'), "invalid escape"),
    ("unterminated_string", st('{"a":{"dtype":"F32', D8), "unterminated string"),
    ("trailing_comma", st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],}}', D8),
     "not valid JSON"),
    ("comment", st("{" + E + "/*x*/}", D8), "not valid JSON"),
    ("nesting_beyond_limit", one(extra=',"x":' + "[" * 126 + "]" * 126), "nested too deep"),
    ("number_out_of_range", one(extra=',"x":1e999'), "number out of range"),
    ("number_bare_dot", one(extra=',"x":1.'), "invalid number"),
    ("nul_in_metadata_key", st('{"__metadata__\\u0000zz":{"k":"v"},' + E + "}", D8),
     "NUL character"),
    ("metadata_twice", st('{"__metadata__":{"k":"1"},"__metadata__":{"k":"2"},' + E + "}", D8),
     "\"__metadata__\" appears twice"),
    ("metadata_not_object", st('{"__metadata__":[1],' + E + "}", D8),
     "\"__metadata__\" is not a JSON object"),
    ("metadata_value_not_string", st('{"__metadata__":{"step":3},' + E + "}", D8),
     "metadata 'step': value is not a string"),
    ("field_twice", st('{"a":{"dtype":"F32","dtype":"U8","shape":[2],"data_offsets":[0,8]}}',
                       D8), "field \"dtype\" appears twice"),
    ("shape_float", one(shape="[2.0]"), "shape[0] is 2.0, not a non-negative JSON integer"),
    ("offset_exponent", one(offsets="[0,8e0]"), "data_offsets[1] is 8e0, not a"),
    ("shape_negative", one(shape="[-2]"), "shape[0] is -2, not a"),
    ("offset_negative_zero", one(offsets="[-0,8]"), "data_offsets[0] is -0, not a"),
    ("shape_plus_sign", one(shape="[+2]"), "not valid JSON: expected a value"),
    ("shape_leading_zero", one(shape="[02]"), "not valid JSON"),
    ("shape_string", one(shape='["2"]'), "shape[0] is not a number"),
    ("offset_2_pow_64", one(offsets="[0,18446744073709551616]"), "does not fit in 64 bits"),
    ("offset_max_u64", one(offsets="[0,18446744073709551615]"),
     "tensor 'a': data_offsets end 18446744073709551615 is beyond the 8-byte data section"),
    ("offsets_both_max_u64", one(offsets="[18446744073709551615,18446744073709551615]"),
     "is beyond the 8-byte data section"),
    ("offsets_overlap", st('{"a":%s,"b":%s}' % (entry(), entry(offsets="[4,12]")), bytes(12)),
     "overlap tensor 'a'"),
    ("offsets_gap", st('{"a":%s,"b":%s}' % (entry(shape="[1]", offsets="[0,4]"),
                                            entry(shape="[1]", offsets="[8,12]")), bytes(12)),
     "leave a hole of 4 bytes"),
    ("offsets_not_covering_data", st(ONE, bytes(12)), "trailing bytes"),
    ("offsets_end_before_begin", one(offsets="[8,0]"), "end before they begin"),
    ("offsets_beyond_data", st(ONE, bytes(6)), "is beyond the 6-byte data section"),
    ("zero_size_beyond_data", st('{"a":%s,"z":%s}' % (entry(), entry(shape="[0]",
                                                                     offsets="[9,9]")), D8),
     "is beyond the 8-byte data section"),
    ("offsets_three_numbers", one(offsets="[0,8,8]"), "must be [begin, end] (2 numbers, not 3)"),
    ("offsets_one_number", one(offsets="[8]"), "must be [begin, end] (2 numbers, not 1)"),
    ("offsets_object", one(offsets='{"begin":0,"end":8}'), "\"data_offsets\" is not an array"),
    ("shape_offsets_mismatch", one(shape="[3]"), "f32[3] needs 12 bytes, data_offsets [0, 8]"),
    ("shape_overflows_size", one(dtype="U8", shape="[4294967296,4294967296]"),
     "too large for aigc"),
    ("dtype_unknown", one(dtype="F33"), "dtype \"F33\" is unknown"),
    ("dtype_lowercase", one(dtype="f32"), "dtype \"f32\" is unknown"),
    ("dtype_with_nul", one(dtype="F32\\u0000"), "dtype \"F32\\u0000\" is unknown"),
    ("dtype_not_string", one(dtype="1"), "\"dtype\" is not a string"),
    ("dtype_subbyte_misaligned", st('{"a":%s}' % entry("F4", "[3]", "[0,2]"), bytes(2)),
     "unsupported"),
    ("shape_not_array", one(shape='{"0":2}'), "\"shape\" is not an array"),
    ("shape_null", one(shape="null"), "\"shape\" is not an array"),
    ("missing_dtype", st('{"a":{"shape":[2],"data_offsets":[0,8]}}', D8), "missing \"dtype\""),
    ("missing_shape", st('{"a":{"dtype":"F32","data_offsets":[0,8]}}', D8), "missing \"shape\""),
    ("missing_offsets", st('{"a":{"dtype":"F32","shape":[2]}}', D8),
     "missing \"data_offsets\""),
    ("entry_null", st('{"a":null}', D8), "entry is not a JSON object"),
    ("entry_string", st('{"a":"F32"}', D8), "entry is not a JSON object"),
    ("control_escape_in_name", st('{"a\\nb\\u0001":%s}' % entry(shape="[3]"), D8),
     "tensor 'a\\u000ab\\u0001': f32[3] needs 12 bytes"),
    ("duplicate_name_second_broken", st('{"a":%s,"a":%s}' % (entry(), entry(shape="[3]")), D8),
     "appears twice"),
]

# (name, bytes, needle): valid for the reference, refused by aigc's own limits.
AIGC_LIMIT = [
    ("limit_rank_5", one(shape="[1,1,1,1,2]"), "more than 4 dims, aigc supports at most 4"),
    ("limit_dtype_f64", st('{"a":%s}' % entry("F64", "[1]", "[0,8]"), D8),
     "dtype F64 is valid safetensors but unsupported"),
    ("limit_dtype_bool", st('{"a":%s}' % entry("BOOL", "[8]", "[0,8]"), D8),
     "dtype BOOL is valid safetensors but unsupported"),
    ("limit_duplicate_names", st('{"a":%s,"a":%s}' % (entry(), entry("U8", "[8]")), D8),
     "tensor 'a' appears twice"),
    ("limit_duplicate_metadata_keys", st('{"__metadata__":{"k":"1","k":"2"},' + E + "}", D8),
     "metadata key 'k' appears twice"),
    ("limit_nul_in_name", st('{"a\\u0000b":%s}' % entry(), D8), "holds a NUL character"),
    ("limit_nul_in_metadata_value", st('{"__metadata__":{"k":"a\\u0000b"},' + E + "}", D8),
     "holds a NUL character"),
    ("limit_entry_as_array", st('{"a":["F32",[2],[0,8]]}', D8), "entry is an array"),
    ("limit_dtype_as_map", one(dtype='{"F32":null}'), "\"dtype\" is not a string"),
    ("limit_zero_dim_hides_huge", st('{"z":%s,"a":%s}' % (
        entry(shape="[0,4611686018427387904]", offsets="[0,0]"), entry()), D8),
     "too large for aigc"),
    ("limit_dim_above_int64", st('{"z":%s,"a":%s}' % (
        entry(dtype="U8", shape="[0,9223372036854775808]", offsets="[0,0]"), entry()), D8),
     "above aigc's limit of 2^63 - 1"),
]


def reference(path, data):
    """accept/refuse, the reason, and what was read."""
    got = []
    try:
        tensors = deserialize(data)
        got.append(None)
    except Exception as e:  # the reference raises SafetensorError, sometimes others
        got.append(str(e))
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
            shapes = {k: (f.get_slice(k).get_dtype(), f.get_slice(k).get_shape()) for k in f.keys()}
        got.append(None)
    except Exception as e:
        got.append(str(e))
    if (got[0] is None) != (got[1] is None):
        return "inconsistent", f"deserialize: {got[0]}; safe_open: {got[1]}", ""
    if got[0] is not None:
        return "refuse", got[0], ""
    # deserialize() and safe_open() must read the same tensors
    seen = {n: (t["dtype"], list(t["shape"])) for n, t in tensors}
    if seen != {k: (d, list(s)) for k, (d, s) in shapes.items()}:
        return "inconsistent", f"deserialize {seen} != safe_open {shapes}", ""
    parts = sorted(f"{n}:{t['dtype']}[{','.join(map(str, t['shape']))}]={bytes(t['data']).hex()}"
                   for n, t in tensors)
    metas = sorted(f"{k}={v}" for k, v in meta.items())
    return "accept", "", ";".join(parts) + "|" + ";".join(metas)


def clean(text):
    """One field of a line (test_safetensors_diff.cpp escapes aigc's the same)."""
    return text.replace("\t", " ").replace("\n", "\\n").replace("\0", "\\u0000")


def main():
    if len(sys.argv) != 2:
        print("usage: safetensors_diff.py DIR", file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sys.stdout.reconfigure(encoding="utf-8")
    cases = [(n, b, "same", "") for n, b in VALID]
    cases += [(n, b, "same", k) for n, b, k in REFUSED]
    cases += [(n, b, "aigc-limit", k) for n, b, k in AIGC_LIMIT]
    for name, data, expect, needle in cases:
        path = os.path.join(out, name + ".safetensors")
        with open(path, "wb") as f:
            f.write(data)
        verdict, reason, summary = reference(path, data)
        print("\t".join([name, expect, verdict, needle, clean(summary), clean(reason)]))


if __name__ == "__main__":
    main()
