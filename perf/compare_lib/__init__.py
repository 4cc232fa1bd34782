"""Helpers of perf/compare: running the benchmarks (measure), the table, bound and
RESULTS.md (report), and the hand-written SVG plot (svg). Standard library only."""
