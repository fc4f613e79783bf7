"""``python -m bidserver``: the same command line as the ``bidserver`` console script."""

from .cli import main

main(prog_name="bidserver")
