"""`python -m corpus_tools`: the same as the `corpus` command."""

from corpus_tools.cli import main

main()
