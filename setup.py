"""The one compiled part of the package: the validator's fast path (`corpus_tools/validate/_native.c`).

Everything else is in pyproject.toml; setuptools reads both. The module records the SHA-256 of
the source it was built from, so that a checkout whose C file changed since the build refuses to
run the old module (`corpus_tools.validate.mirror`).
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "corpus_tools/validate/_native.c"
digest = hashlib.sha256((Path(__file__).parent / SOURCE).read_bytes()).hexdigest()

setup(
    ext_modules=[
        Extension(
            "corpus_tools.validate._native",
            [SOURCE],
            define_macros=[("NATIVE_SOURCE", f'"{digest}"')],
        )
    ]
)
