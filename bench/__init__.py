"""Benchmarks: synthetic data valid under the real schema (bench.generate)."""
