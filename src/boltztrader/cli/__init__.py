"""The ``boltz`` command line."""
