"""GraphQL errors with a stable `extensions.code`, and the masking of everything else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from api.dnc.errors import InvalidArgument
from api.store.database import UNAVAILABLE_MESSAGE, is_unavailable

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TIMEOUT = "TIMEOUT"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
BAD_REQUEST = "BAD_REQUEST"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
MASKED_MESSAGE = "Internal server error."


class CodedError(GraphQLError):
    """An expected error that clients switch on by `extensions.code`."""

    code: str = BAD_USER_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class BadUserInput(CodedError):
    code = BAD_USER_INPUT


@contextmanager
def bad_user_input() -> Iterator[None]:
    """The rules' refusal of an argument (a filter, a cursor, a page size) as BAD_USER_INPUT."""
    try:
        yield
    except InvalidArgument as error:
        raise BadUserInput(str(error)) from None


def is_expected(error: GraphQLError) -> bool:
    """Parse, validation and input-coercion errors, and errors with a code, are the contract's."""
    if error.original_error is None or isinstance(error.original_error, GraphQLError):
        return True
    return bool(error.extensions and error.extensions.get("code"))


def masked(error: GraphQLError) -> GraphQLError:
    """An unexpected error as clients see it: a fixed message and code, no details."""
    unavailable = is_unavailable(error.original_error)
    return GraphQLError(
        message=UNAVAILABLE_MESSAGE if unavailable else MASKED_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": SERVICE_UNAVAILABLE if unavailable else INTERNAL_SERVER_ERROR},
    )


def mask_unexpected(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Hide the message of any unexpected error; the log keeps it under the request id."""
    return [error if is_expected(error) else masked(error) for error in errors]


class MaskUnexpectedErrors(MaskErrors):
    """`mask_unexpected` for the operations strawberry runs itself (all of them on the stock
    path; a socket's or a GET's on the engine)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda error: not is_expected(error))

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return masked(error)
