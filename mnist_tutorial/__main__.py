"""Entry point of ``python -m mnist_tutorial``."""

import sys

from .cli import main

sys.exit(main())
