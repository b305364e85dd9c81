"""Expected outcomes of the DNC rules, raised by the service and mapped once to GraphQL types."""

from __future__ import annotations

from enum import StrEnum

from models import DncEntry


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    ALREADY_ON_DNC = "ALREADY_ON_DNC"
    BATCH_NOT_FOUND = "BATCH_NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    CALL_RECORD_NOT_FOUND = "CALL_RECORD_NOT_FOUND"
    ENTRY_NOT_FOUND = "ENTRY_NOT_FOUND"


class DncError(Exception):
    code: ErrorCode

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DncError):
    code = ErrorCode.VALIDATION_FAILED

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DncError):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class AlreadyOnDnc(DncError):
    code = ErrorCode.ALREADY_ON_DNC

    def __init__(self, entry: DncEntry) -> None:
        super().__init__(f"{entry.phone_number} is already on the Do-Not-Call list.")
        self.entry = entry


class InvalidArgument(ValueError):
    """A query's argument (a filter, a cursor, a number) cannot be used; nothing was read."""
