"""``python -m greenpsyco``: the same command line as the ``greenpsyco`` script."""

from greenpsyco.cli import main

raise SystemExit(main())
