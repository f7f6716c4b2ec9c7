"""Use cases: they load rows, call scoring/, write results, and flush but never commit."""


class ServiceError(Exception):
    """A rule of the contest refused the operation; the message is shown to the user as is.

    ``field`` names the form field the message belongs next to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class FieldErrors(ServiceError):
    """Several fields of one form are wrong at once: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()), field=next(iter(errors), None))
        self.errors = errors
