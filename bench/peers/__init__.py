"""Peers side by side with graphrec: split files, peer runners (each in its own virtual environment),
and one evaluator for all."""
