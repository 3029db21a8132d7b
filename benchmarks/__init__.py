"""Benchmarks and load tools; run them through `make bench` and `make soak`."""
