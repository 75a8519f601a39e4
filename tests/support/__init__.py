"""Helpers only the tests (and the benchmarks) use; they do not ship in the wheel."""
