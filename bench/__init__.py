"""Benchmarks that print figures (rows/s, peak memory, ratios to peers measured in the same
run). Run with ``python -m bench NAME``; results go to ``bench/results/``."""
