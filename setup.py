"""The compiled parts of the package: the validator's fast path (`corpus_tools/validate/_native.c`)
and merge's usual case (`corpus_tools/merge/_native.c`).

Everything else is in pyproject.toml; setuptools reads both. Each module records the SHA-256 of
the source it was built from, so that a checkout whose C file changed since the build refuses to
run the old module (`corpus_tools.native.check_built`).
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

MODULES = ("corpus_tools.validate._native", "corpus_tools.merge._native")
HEADER = "corpus_tools/_slots.h"
"""Included by both: the digest of each module covers it too (`corpus_tools.native.digest`)."""


def extension(module: str) -> Extension:
    source = module.replace(".", "/") + ".c"
    here = Path(__file__).parent
    digest = hashlib.sha256((here / source).read_bytes() + (here / HEADER).read_bytes()).hexdigest()
    return Extension(
        module, [source], depends=[HEADER], define_macros=[("NATIVE_SOURCE", f'"{digest}"')]
    )


setup(ext_modules=[extension(module) for module in MODULES])
