"""Text → vectors: a BERT-family encoder (transformers, local weights only) and an on-disk cache."""
