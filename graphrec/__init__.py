"""graphrec: a graph-based knowledge recommender.

Importing :mod:`graphrec` is cheap: heavy dependencies (neo4j driver, torch,
transformers) are imported lazily by the modules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
