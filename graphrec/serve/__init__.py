"""Using a trained run: top-K recommendations, write-back into the graph, explanations."""
