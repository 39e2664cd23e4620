"""One exception type for mistakes a user can fix.

Entry points turn a UserError into one sentence on stderr and a non-zero exit
code instead of a traceback; everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A bad value from the user: the message names it and says what would be right."""


class TrainingDiverged(UserError):
    """A loss or the generator's output went NaN/Inf; what was saved before is kept."""
