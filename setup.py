"""Only the compiled part; everything else is in pyproject.toml.

bot/_scan.c is a plain C library (no Python API) that bot/bulk_terms.py loads with
ctypes; building it as an extension lets pip compile it on install.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("bot._scan", ["bot/_scan.c"], extra_compile_args=["-O2", "-std=c99"])])
