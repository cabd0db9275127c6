"""Topic extraction: topics shared across scenarios, written as ``Topic`` nodes and ``HAS_TOPIC`` edges.

Methods (one module each): ``discovered`` (clusters of item embeddings of all scenarios together,
labelled with class-based TF-IDF keywords) and ``zeroshot`` (a user-supplied label list matched by
embedding similarity). Topics come from item text only — never from interactions — so they cannot
leak held-out interactions into training.
"""
