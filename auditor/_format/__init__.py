"""Output formats: one module per format, each defining one :class:`~auditor._format.interface.Formatter`.

A format's name is its module's name (``md.py`` → ``--format md``); :mod:`.registry` finds them
without importing them, so ``--help`` and ``--format json`` never pay for templates or WeasyPrint.
Adding a format is adding one module here.
"""
