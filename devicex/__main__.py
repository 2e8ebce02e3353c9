"""``python -m devicex``."""
from devicex.cli import main

main()
