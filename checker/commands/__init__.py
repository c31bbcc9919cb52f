"""The `kata` commands, one module each: add_arguments(parser) and run(args) -> exit code (see checker.cli).

A command parses its options, calls the core and prints; it never imports another command.
"""
