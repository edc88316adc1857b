"""The engine: reading a module's source, its statements and their dependencies, deciding what
a save must run, swapping code, patching, running under a deadline, the transaction and the
batch.

Rule of this layer: it imports the contract, the verdicts and the errors, never the events,
the output or the server; it reports outcomes as data and the server says them.
"""
