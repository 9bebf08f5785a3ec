"""`python -m flows.cli`: the same as the `grants` command."""

from flows.cli import main

main()
