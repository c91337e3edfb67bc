"""Stage glue: read a stage's inputs from the run store, call the pure step, write its outputs.

Each module here is the only place its stage touches disk; the computation lives in the domain
packages (``data``, ``features``, ``targets``, ``prep``, ``selection``, ``tuning``, ``training``).
"""
