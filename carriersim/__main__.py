"""``python -m carriersim``: the ``carriersim`` command."""

import sys

from carriersim.conformance.cli import main

sys.exit(main())
