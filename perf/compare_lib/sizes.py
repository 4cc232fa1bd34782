"""Byte sizes as nccl-tests spells them: 8, 64K, 1M, 256M (binary units).

parse_size reads the grammar of Braid's C++ parser (src/core/byte_size.h): a decimal
number, then optionally K, M or G, then optionally B or iB, in any case.
"""

import re

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(?:([KMG])(?:IB|B)?|B)?")


def parse_size(text):
    m = _SIZE.fullmatch(text.upper())
    if not m:
        raise ValueError("not a size (e.g. 8, 64K, 1.5M, 2GiB): " + repr(text))
    number, unit = m.group(1), m.group(2) or ""
    whole, _, fraction = number.partition(".")
    scale = UNITS[unit]
    # Exact, as the C++ parser is: whole bytes, a fraction of a byte dropped.
    return int(whole or 0) * scale + (int(fraction[:9] or 0) * scale) // (10 ** len(fraction[:9]))


def parse_sizes(text):
    return [parse_size(s.strip()) for s in text.split(",") if s.strip()]


def format_size(n):
    for suffix, unit in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= unit and n % unit == 0:
            return "%d%s" % (n // unit, suffix)
    return "%dB" % n
