"""The one exception of the package that a user sees as one line (the course's rule for bad input)."""


class DataError(Exception):
    """Bad input: a file that cannot be read as what it should be, or settings that contradict it.
    Its message is one line that names the file (or the flag) and the problem."""
