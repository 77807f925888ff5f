"""The `netc` subcommands, one module each.

Where it sits: compiler/cli.py imports every module of this package and calls its
`register(subparsers)`; a module adds its subparser and sets `run=function(args) -> int`. A new
command is a new file here, nothing else.
"""
