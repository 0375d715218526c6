"""The one error type for bad data: it says what was wrong, what was expected and how to fix it."""


class DataError(ValueError):
    def __init__(self, problem, expected, fix=None):
        message = f"{problem}\n  expected: {expected}"
        if fix:
            message += f"\n  fix: {fix}"
        super().__init__(message)
