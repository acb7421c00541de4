"""Benchmarks: run the real bot in-process against the fakes and measure it (see benchmarks/README.md)."""
