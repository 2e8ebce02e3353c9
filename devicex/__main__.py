"""``python -m devicex``: the command line, which lives in the top-level ``cli`` package."""
from cli import main

main()
