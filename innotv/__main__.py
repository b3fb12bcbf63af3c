"""`python -m innotv` runs the command line, like the `innotv` console script."""

from .cli import main

raise SystemExit(main())
