"""The one error family topograph raises on purpose.

Every message is a single line that names what was wrong and where (file,
layer, run, epoch), so the CLI can print it as is and exit non-zero.
"""


class TopographError(Exception):
    """Base of every error topograph raises deliberately."""


class InputError(TopographError):
    """A checkpoint, archive or argument that cannot be used as given.

    Raised at the edge (loaders, the Checkpoint constructor, CLI arguments);
    inner code trusts what passed this check.
    """


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name): messages stay one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
