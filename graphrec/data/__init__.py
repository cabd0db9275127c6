"""Store → PyTorch Geometric: export, splits and leakage checks."""
