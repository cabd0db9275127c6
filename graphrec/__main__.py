"""``python -m graphrec`` runs the CLI."""

from graphrec.cli import main

main()
