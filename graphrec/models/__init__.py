"""Recommendation models: one module per family."""
