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


def one_line(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): an error stays one line.

    File names may hold newlines or terminal escapes; an error message naming
    one must neither break into two lines nor drive the user's terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (or its type's name): messages stay one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
