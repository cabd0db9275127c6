"""Training: negative sampling, losses, loops."""
