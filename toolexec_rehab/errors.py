"""The errors that mean "bad input from the user": a message (with file:line where that
applies) and exit 2, never a traceback. The bottom layer: imports nothing.

Anything else that escapes a command is an internal error (exit 3; a traceback only with
REHAB_DEBUG=1), and a build fails open on it."""


class UserError(Exception):
    """Bad input: str() is the whole message."""


class UsageError(UserError):
    """A bad command line or path (analysis, pipeline, cli)."""


class ConfigError(UserError):
    """A bad config file: str() is `file:line: message`."""


class RuleError(UserError):
    """A rule file is wrong: str() is `file:line: message`."""


class AuditError(UserError):
    """The audit log cannot be written or read."""


class SettingError(UserError, ValueError):
    """A bad REHAB_* variable: str() is `NAME=value: what is wrong`."""


class VetError(UserError):
    """Bad input in `go vet -vettool` mode."""


def is_user_error(e: BaseException, *more: type) -> bool:
    return isinstance(e, (UserError, *more))
