"""Evaluation: chunked full ranking over a scenario's items and top-K metrics."""
