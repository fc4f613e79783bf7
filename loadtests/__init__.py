"""Benchmark of bidserver against a minimal baseline server (see docs/performance.md).

``python -m loadtests.bench [--smoke]`` is the one command; ``loadtests.baseline_server`` and
``loadtests.loadgen`` are the processes it starts.
"""
