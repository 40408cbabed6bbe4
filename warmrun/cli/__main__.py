"""``python -m warmrun.cli``: the same as the ``warmrun`` command."""

import sys

from warmrun.cli import main

sys.exit(main())
