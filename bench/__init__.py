"""Benchmarks for Distribution: `make bench` (every case) and `make bench-history`.

The service, the platform emulators, the bare baseline server and the load clients each
run in their own process; this package starts them, drives them, and writes
`bench/results.md`. See `bench/run.py`.
"""
