"""`python -m creditline.entrypoints.cli`: the command line (what the benches and tests run)."""

from creditline.entrypoints.cli.root import main

main()
