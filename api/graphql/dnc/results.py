"""What mutations answer: union members that clients switch on by `__typename`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.dnc.errors import AlreadyOnDnc, DncError, ErrorCode, NotFound, ValidationFailed
from api.graphql.dnc.types import DncEntry
from api.graphql.loaders import Loaders


@strawberry.interface(description="What every mutation answers: clients switch on __typename.")
class MutationResult:
    success: bool = strawberry.field(description="True only for the success member.")
    status_code: int = strawberry.field(description="The HTTP-style status of the outcome.")
    message: str = strawberry.field(description="A short human-readable explanation.")


@strawberry.type(description="The number was added; the organization's admins are emailed.")
class AddToDncSuccess(MutationResult):
    entry: DncEntry = strawberry.field(description="The new entry.")


@strawberry.type(description="An input was refused; `field` names it.")
class ValidationError(MutationResult):
    code: ErrorCode = strawberry.field(description="VALIDATION_FAILED.")
    field: str = strawberry.field(description='The input field at fault, e.g. "phoneNumber".')


@strawberry.type(description="The number is already on the organization's list.")
class AlreadyOnDncError(MutationResult):
    code: ErrorCode = strawberry.field(description="ALREADY_ON_DNC.")
    entry: DncEntry = strawberry.field(description="The existing entry.")


@strawberry.type(description="Something the input refers to does not exist for the caller.")
class NotFoundError(MutationResult):
    code: ErrorCode = strawberry.field(description="Which thing was not found.")


AddToDncResult = Annotated[
    AddToDncSuccess | ValidationError | AlreadyOnDncError | NotFoundError,
    strawberry.union("AddToDncResult", description="The outcome of addToDnc."),
]


@strawberry.type(description="The number was removed; the organization's admins are emailed.")
class RemoveFromDncSuccess(MutationResult):
    entry: DncEntry = strawberry.field(description="The entry, now REMOVED.")


RemoveFromDncResult = Annotated[
    RemoveFromDncSuccess | ValidationError | NotFoundError,
    strawberry.union("RemoveFromDncResult", description="The outcome of removeFromDnc."),
]


def error_result(
    error: DncError, loaders: Loaders
) -> ValidationError | AlreadyOnDncError | NotFoundError:
    """The contract's union member for an expected failure."""
    if isinstance(error, ValidationFailed):
        return ValidationError(
            success=False,
            status_code=400,
            message=error.message,
            code=error.code,
            field=error.field,
        )
    if isinstance(error, AlreadyOnDnc):
        return AlreadyOnDncError(
            success=False,
            status_code=400,
            message=error.message,
            code=error.code,
            entry=DncEntry.from_model(error.entry, loaders),
        )
    assert isinstance(error, NotFound)
    return NotFoundError(success=False, status_code=404, message=error.message, code=error.code)
