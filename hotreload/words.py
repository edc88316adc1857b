"""Fixed words and defaults of the profile and the output, each defined once (typed, so mypy
sees drift): the manifest, the events, the output and the CLI import them from here.

Reason codes live in `verdicts`.
"""

from __future__ import annotations

from typing import Literal

# -- output -------------------------------------------------------------------------------------

LogFormat = Literal["console", "json"]
"""How events render on stderr: a line for a person, or one JSON object a line."""

Level = Literal["debug", "info", "warning", "error"]
"""An event's severity, and a profile's `log_level` threshold."""

LEVEL_ORDER: dict[Level, int] = {"debug": 10, "info": 20, "warning": 30, "error": 40}

# -- serving an app -----------------------------------------------------------------------------

AppKind = Literal["asgi", "wsgi"]
"""How `[app]` is served: an ASGI app, or a WSGI app through an adapter."""

AssetKind = Literal["stylesheet", "template", "static"]
"""What a changed file of a served app's static or template folders is, for the browser: a
stylesheet (swapped in place), a template, or another static file (the page reloads)."""

# -- what reloads ------------------------------------------------------------------------------

ReloadScope = Literal["imported", "manifest"]
"""A profile's `reload_scope`: every project module the process imported, or the manifest's."""

# -- profile defaults ---------------------------------------------------------------------------

DEFAULT_DEBOUNCE_MS = 1
"""How long the watcher waits for the rest of a burst: files saved together (a checkout, "save
all") within this of each other are one batch, applied in import order.

On Linux the kernel says when a file is whole (closed after writing, renamed into place), so no
quiet period is needed for that, and the watcher sleeps until an event comes (no idle cost): a
short wait keeps save-to-live near the transaction's own time. Where the kernel's events cannot
be had (watchfiles), it is also the watcher's step and the quiet period an in-place write must
stay unchanged for (measured there on 1,000 watched modules: 1 ms -> 2.0 % of a core at idle,
3 ms -> 0.65 %, 5 ms -> 0.34 %)."""

DEFAULT_EXEC_TIMEOUT_MS = 10_000
"""How long reloaded top-level code may run before it is stopped and the change rejected."""

# -- messages -----------------------------------------------------------------------------------

# Words that start with a vowel letter and a consonant sound, or the other way round.
_A_BEFORE = ("one", "once", "uni", "use", "usa", "usi", "usu", "uti", "ure", "uri", "euro", "eu")
_AN_BEFORE = ("hour", "honest", "honor", "honour", "heir")
_VOWEL_LETTER_NAMES = frozenset("AEFHILMNORSX")  # "an HTTP ...", "an SQL ...": letters said


def article(noun: str) -> str:
    """``noun`` with its indefinite article, for messages that name a type or a kind:
    "an Item", "a Counter", "a User", "an HTTPError", "an ASGI"."""
    lower = noun.lower()
    if lower.startswith(_A_BEFORE):
        return f"a {noun}"
    if lower.startswith(_AN_BEFORE):
        return f"an {noun}"
    head = noun[:2]
    if len(head) == 2 and head.isupper() and head.isalpha():  # an acronym: its letters are said
        return f"{'an' if noun[0] in _VOWEL_LETTER_NAMES else 'a'} {noun}"
    return f"{'an' if lower[:1] in 'aeiou' else 'a'} {noun}"


MANIFEST_SCHEMA_FILE = "hotreload.schema.json"
"""The manifest's JSON Schema: its name in `schemas/`, and beside a manifest `init` writes."""
