"""The list's mutations: parse the input, call one service function, map its outcome."""

from __future__ import annotations

import logging
from typing import Annotated

import strawberry

from api.dnc import add, bulk, removal
from api.dnc.errors import DncError, NotFound, ValidationFailed
from api.dnc.events import Change
from api.graphql.context import Info
from api.graphql.dnc.bulk import AddManyItem, AddManyToDncInput, AddManyToDncResult
from api.graphql.dnc.inputs import AddToDncInput, RemoveFromDncInput
from api.graphql.dnc.results import (
    AddToDncResult,
    AddToDncSuccess,
    AlreadyOnDncError,
    RemoveFromDncResult,
    RemoveFromDncSuccess,
    error_result,
)
from api.graphql.dnc.types import DncEntry
from api.graphql.permissions import ADMIN_ONLY, AUTHENTICATED
from api.metrics import DNC_ADDS

log = logging.getLogger(__name__)


async def _committed(info: Info, change: Change | bulk.BulkOutcome) -> None:
    """After commit: wake the email deliverer and announce the events.

    The change stands whatever happens here: the live feed is best effort (the audit log is
    the record), so a failed announcement is logged, never answered as an error.
    """
    info.context.worker.wake()
    try:
        await info.context.broker.publish(change.events)
    except Exception:
        log.exception("announcing %d committed events failed", len(change.events))


@strawberry.type
class DncMutation:
    @strawberry.mutation(
        description="Put a number on the list from a call; the organization's admins are emailed.",
        permission_classes=AUTHENTICATED,
    )
    async def add_to_dnc(
        self,
        info: Info,
        input: Annotated[
            AddToDncInput, strawberry.argument(description="The number and its call.")
        ],
    ) -> AddToDncResult:
        try:
            change = await add.add_to_dnc(
                viewer=await info.context.viewer(),
                phone_number=input.phone_number,
                batch_id=str(input.batch_id),
                request_uuid=input.request_uuid,
                reason=input.reason or None,
                note=input.note or None,
                expires_at=input.expires_at or None,
            )
        except DncError as error:
            result = error_result(error, await info.context.loaders())
            DNC_ADDS.labels(result=type(result).__name__).inc()
            return result
        await _committed(info, change)
        DNC_ADDS.labels(result="AddToDncSuccess").inc()
        return AddToDncSuccess(
            success=True,
            status_code=200,
            message="Number added to the Do-Not-Call list.",
            entry=DncEntry.from_model(change.entry, await info.context.loaders()),
        )

    @strawberry.mutation(
        description="Take a number off the list (ADMIN only; soft: its history stays). "
        "The organization's admins are emailed.",
        permission_classes=ADMIN_ONLY,
    )
    async def remove_from_dnc(
        self,
        info: Info,
        input: Annotated[
            RemoveFromDncInput, strawberry.argument(description="The number and why.")
        ],
    ) -> RemoveFromDncResult:
        try:
            change = await removal.remove_from_dnc(
                viewer=await info.context.viewer(),
                phone_number=input.phone_number,
                reason=input.reason,
            )
        except (ValidationFailed, NotFound) as error:
            result = error_result(error, await info.context.loaders())
            assert not isinstance(result, AlreadyOnDncError)
            return result
        await _committed(info, change)
        return RemoveFromDncSuccess(
            success=True,
            status_code=200,
            message="Number removed from the Do-Not-Call list.",
            entry=DncEntry.from_model(change.entry, await info.context.loaders()),
        )

    @strawberry.mutation(
        description="Add up to 10,000 numbers from one channel in one transaction (ADMIN only). "
        "The admins get one digest email per call.",
        permission_classes=ADMIN_ONLY,
    )
    async def add_many_to_dnc(
        self,
        info: Info,
        input: Annotated[AddManyToDncInput, strawberry.argument(description="The numbers.")],
    ) -> AddManyToDncResult:
        entries = [
            bulk.ManualEntry(
                phone_number=item.phone_number,
                reason=item.reason or None,
                note=item.note or None,
                requested_at=item.requested_at or None,
                expires_at=item.expires_at or None,
            )
            for item in input.entries
        ]
        try:
            outcome = await bulk.add_many_to_dnc(
                viewer=await info.context.viewer(), channel=input.channel, entries=entries
            )
        except ValidationFailed as error:
            return AddManyToDncResult(
                success=False,
                status_code=400,
                message=error.message,
                added=0,
                already_on_dnc=0,
                invalid=0,
                items=[],
                code=error.code,
                field=error.field,
            )
        await _committed(info, outcome)
        loaders = await info.context.loaders()
        return AddManyToDncResult(
            success=True,
            status_code=200,
            message=f"{outcome.added} added, {outcome.already_on_dnc} already on the list, "
            f"{outcome.invalid} invalid.",
            added=outcome.added,
            already_on_dnc=outcome.already_on_dnc,
            invalid=outcome.invalid,
            items=[
                AddManyItem(
                    phone_number=item.phone_number,
                    status=item.status,
                    row=item.entry,
                    loaders=loaders,
                    message=item.message,
                )
                for item in outcome.items
            ],
            code=None,
            field=None,
        )
