"""Measuring PolicyDesk: retrieval metrics, evaluation sets and the benchmark report."""
