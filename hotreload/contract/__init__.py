"""The contract: signatures and type shapes read from source, the rules that compare them with
the manifest, and the check of live class objects.

Rule of this layer: it imports only `hotreload.verdicts` and `hotreload.errors`; reading a
signature or a shape never executes code, and nothing here knows of running modules.
"""
