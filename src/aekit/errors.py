"""User-facing errors.

An `AekitError` is a problem with the user's input or environment, not a bug:
its message is one line that says what is wrong and how to fix it. The CLI
prints it alone (no traceback) and exits non-zero. Anything else is a bug and
keeps its traceback.
"""


class AekitError(Exception):
    """Bad input or environment: one line, what is wrong and how to fix it."""

    def __init__(self, message: str):
        # Keep the promise of one line even when a wrapped message has newlines.
        super().__init__(" ".join(str(message).split()))


class DataError(AekitError):
    """A dataset is missing, corrupt, or not in a format aekit reads."""


class ConfigError(AekitError):
    """A config key or value is invalid."""


def did_you_mean(word: str, choices, prefix: str = "") -> str:
    """' (did you mean X?)' for the choice nearest a mistyped `word`, else ''; X is
    shown with `prefix` (as in 'pretrained:NAME'), which takes no part in the match."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {prefix + close[0]!r}?)" if close else ""


class WriteError(AekitError, OSError):
    """A file or folder could not be written (no space, read-only, in the way).
    Also an OSError, so that a caller that shrugs off a failed write (the
    parsed-data cache) or tries elsewhere (a download's next mirror) still does."""
