"""The command-line front door: one folder per noun, one module per verb.

Commands parse options, call engines with typed requests and print through
``salvage.cli.output``. They hold no business logic of their own.
"""
