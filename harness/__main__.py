"""Allow ``python -m harness``.

``python -m`` puts the current directory first on ``sys.path``, so a stray ``pybreaker.py``
or any ``x.py`` there would be imported in place of what a scenario names. It is removed
before anything else is imported, as Python's ``-P`` does (3.11 has no ``-P``); name the
folder in ``PYTHONPATH`` to import your own code from it.
"""

import os
import sys

# Only the entry `-m` added (the first); the same folder named in PYTHONPATH stays, on purpose.
if sys.path and sys.path[0] in ("", ".", os.getcwd()):
    del sys.path[0]

from harness.cli import main

sys.exit(main())
