"""Byte sizes as nccl-tests spells them: 8, 64K, 1M, 256M (binary units)."""

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text):
    t = text.strip().upper()
    if t.endswith("B"):
        t = t[:-1]
    unit = 1
    if t and t[-1] in UNITS:
        unit = UNITS[t[-1]]
        t = t[:-1]
    value = float(t)
    if value < 0:
        raise ValueError("negative size: " + text)
    return int(value * unit)


def parse_sizes(text):
    return [parse_size(s) for s in text.split(",") if s.strip()]


def format_size(n):
    for suffix, unit in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= unit and n % unit == 0:
            return "%d%s" % (n // unit, suffix)
    return "%dB" % n
