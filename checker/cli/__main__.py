"""`python -m checker.cli`: the `kata` command without its console script (bench/ uses it)."""

from checker.cli import main

main()
