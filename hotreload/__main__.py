"""`python -m hotreload` runs the command line."""

from hotreload.cli import run

run()
