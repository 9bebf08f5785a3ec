"""`python -m flows.cli`: the same as the `grants` command."""

from flows.cli.app import main

main()
