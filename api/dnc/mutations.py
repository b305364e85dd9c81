"""addToDnc: parse the input, call the service, map its outcome to a union member."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import Info
from api.dnc import service
from api.dnc.errors import AlreadyOnDnc, DncError, NotFound, ValidationFailed
from api.dnc.types import (
    AddToDncInput,
    AddToDncResult,
    AddToDncSuccess,
    AlreadyOnDncError,
    DncEntry,
    NotFoundError,
    ValidationError,
)
from api.metrics import DNC_ADDS
from api.permissions import IsAuthenticated


def error_result(error: DncError) -> ValidationError | AlreadyOnDncError | NotFoundError:
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
            entry=DncEntry.from_model(error.entry),
        )
    assert isinstance(error, NotFound)
    return NotFoundError(success=False, status_code=404, message=error.message, code=error.code)


@strawberry.type
class DncMutation:
    @strawberry.mutation(
        description="Put a number on the list from a call; the organization's admins are emailed.",
        permission_classes=[IsAuthenticated],
    )
    async def add_to_dnc(
        self,
        info: Info,
        input: Annotated[
            AddToDncInput, strawberry.argument(description="The number and its call.")
        ],
    ) -> AddToDncResult:
        try:
            entry = await service.add_to_dnc(
                viewer=await info.context.viewer(),
                phone_number=input.phone_number,
                batch_id=str(input.batch_id),
                request_uuid=input.request_uuid,
                reason=input.reason or None,
                note=input.note or None,
            )
        except DncError as error:
            result = error_result(error)
            DNC_ADDS.labels(result=type(result).__name__).inc()
            return result
        info.context.deliverer.wake()
        DNC_ADDS.labels(result="AddToDncSuccess").inc()
        return AddToDncSuccess(
            success=True,
            status_code=200,
            message="Number added to the Do-Not-Call list.",
            entry=DncEntry.from_model(entry),
        )
