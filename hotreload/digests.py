"""SHA-256 without OpenSSL: the digests of sources (events, saves) and of the manifest's cache.

`hashlib` loads OpenSSL's libcrypto as it is imported, whatever the hash asked for: 3.6 MB of
resident memory, a tenth of a `hotreload up` start-up's, for a few small digests (issue 19).
The interpreter's own SHA-256 module is the one `hashlib` falls back to where OpenSSL is
missing (the standard library's `random` takes its SHA-512 the same way): the same digests,
slower on large inputs (about 3 ms per MB against OpenSSL's 0.6 ms), which a start-up of a
thousand modules of 1.3 kB each does not feel. `hashlib` stays the fallback where neither
module exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:
        from _sha2 import sha256  # CPython >= 3.12
    except ImportError:
        try:
            from _sha256 import sha256  # CPython 3.11
        except ImportError:
            from hashlib import sha256

__all__ = ["sha256"]
