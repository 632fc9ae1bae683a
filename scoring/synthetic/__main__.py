"""`python -m scoring.synthetic`: see `scoring.synthetic.cli`."""

import sys

from scoring.synthetic.cli import main

sys.exit(main())
