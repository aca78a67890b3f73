"""Errors the checker shows to a person: each carries its own message and exit code."""

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SETUP = 2
EXIT_LOCKED = 3


class KataError(Exception):
    """A problem the learner or instructor must fix; the message says how. Never a traceback."""

    exit_code = EXIT_SETUP


class CurriculumError(KataError):
    pass


class FixtureError(KataError):
    pass


class ProgressError(KataError):
    pass


class LearnerCodeError(KataError):
    """The learner's own code failed (outside a check): their problem to fix, exit code 1."""

    exit_code = EXIT_FAIL


class LockedError(KataError):
    """Something that needs a kata passed first (exit code 3, as a locked check)."""

    exit_code = EXIT_LOCKED
