"""The extension modules of tether's build (the rest is in pyproject.toml).

The C mask of ``tether.ws`` and, unless the build is pure, the modules mypyc compiles: see
``build_support/compiled_modules.py`` (``TETHER_PURE_PYTHON=1`` builds the pure package).
"""

import sys
from pathlib import Path

from setuptools import setup

sys.path.insert(0, str(Path(__file__).resolve().parent / "build_support"))

from compiled_modules import SPEEDUPS, BuildExt

# The mypyc modules are added by BuildExt when it runs.
setup(ext_modules=[SPEEDUPS], cmdclass={"build_ext": BuildExt})
