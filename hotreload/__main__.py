"""`python -m hotreload` runs the command line."""

from hotreload.cli import main

raise SystemExit(main())
