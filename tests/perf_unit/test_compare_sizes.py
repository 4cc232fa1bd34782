"""perf/compare reads sizes as Braid's C++ parser does (src/core/byte_size.h; the same
cases are in tests/unit/test_byte_size.cpp)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "perf"))
from compare_lib.sizes import parse_size, parse_sizes  # noqa: E402


class SizeGrammar(unittest.TestCase):
    def test_binary_units_in_any_case_with_optional_b_or_ib(self):
        for text, expected in [("0", 0), ("123B", 123), ("64k", 64 << 10), ("64KB", 64 << 10),
                               ("4MiB", 4 << 20), ("4mib", 4 << 20), ("2Gb", 2 << 30)]:
            self.assertEqual(parse_size(text), expected, text)

    def test_fractions_round_down_to_whole_bytes(self):
        for text, expected in [("1.5M", 3 << 19), (".5K", 512), ("0.001K", 1), ("2.9", 2),
                               ("0.999999999G", (1 << 30) - 2), ("0.9999999999G", (1 << 30) - 2)]:
            self.assertEqual(parse_size(text), expected, text)

    def test_lists_may_have_blanks_between_sizes(self):
        self.assertEqual(parse_sizes("8, 1M ,16M"), [8, 1 << 20, 16 << 20])

    def test_refuses_what_is_not_a_size(self):
        for text in ["", "K", "B", ".", "5.", "-1", "+1", " 1", "1 ", "1KK", "1iB", "1T", "1e3", "0x10", "1.2.3",
                     "64KiBB", "1BB"]:
            with self.assertRaises(ValueError, msg=text):
                parse_size(text)


if __name__ == "__main__":
    unittest.main()
