"""Fuzzing the HTTP layer of /graphql: arbitrary bodies and content types, JSON that is not an
object, deeply nested JSON, GET requests, odd Authorization headers."""

from __future__ import annotations

import json

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from tests.graphql.fuzz.oracle import LONG_RUN_MARKS, Fuzzer, fuzz_settings
from tests.graphql.fuzz.values import JUNK, mostly

pytestmark = LONG_RUN_MARKS


class RawRequest:
    """A request to /graphql; its repr stays short, so a 100 kB body can be reported."""

    def __init__(
        self,
        method: str,
        content_type: str | None,
        body: bytes = b"",
        *,
        query_string: str = "",
        authorization: str = "ADMIN",
    ) -> None:
        self.method = method
        self.content_type = content_type
        self.body = body
        self.query_string = query_string
        self.authorization = authorization

    def __repr__(self) -> str:
        def short(value: str | bytes) -> str:
            return f"{value[:200]!r}{f'... ({len(value)} long)' if len(value) > 200 else ''}"

        return (
            f"RawRequest({self.method!r}, {self.content_type!r}, {short(self.body)}, "
            f"query_string={short(self.query_string)}, authorization={self.authorization!r})"
        )


CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=latin-1",
    "application/graphql",
    "application/graphql-response+json",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "*/*",
]
DOCUMENT = "query($n: [String!]!) { dncCheck(phoneNumbers: $n) { checked } }"


def nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


def deep_variables(depth: int, kind: str) -> bytes:
    """A dncCheck request whose variable is nested `depth` deep."""
    return (
        f'{{"query": {json.dumps(DOCUMENT)}, "variables": {{"n": {nested(depth, kind)}}}}}'.encode()
    )


def json_bodies() -> st.SearchStrategy[bytes]:
    """JSON that is not a GraphQL request object, or one with odd members or deep nesting."""
    odd_request = st.fixed_dictionaries(
        {},
        optional={
            "query": mostly(st.sampled_from([DOCUMENT, "{ me { id } }"]) | st.text()),
            "variables": JUNK,
            "operationName": JUNK,
            "extensions": JUNK,
        },
    ).map(lambda value: json.dumps(value).encode())
    deep_variables_bodies = st.tuples(
        st.integers(1, 200_000), st.sampled_from(["list", "object"])
    ).map(lambda args: deep_variables(*args))
    deep_body = st.tuples(st.integers(1, 200_000), st.sampled_from(["list", "object"])).map(
        lambda args: nested(*args).encode()
    )
    return st.one_of(
        JUNK.map(lambda value: json.dumps(value).encode()),
        odd_request,
        deep_variables_bodies,
        deep_body,
    )


# Authorization headers by name: the seeded users' tokens, none, and odd ones.
AUTHORIZATIONS = {
    "none": None,
    "scheme only": "Bearer",
    "basic": "Basic eA==",
    "9,000 characters": "Bearer " + "x" * 9000,
}


@st.composite
def raw_requests(draw: st.DrawFn) -> RawRequest:
    authorization = draw(st.sampled_from(["ADMIN", "MEMBER", *AUTHORIZATIONS]))
    if draw(st.booleans()):
        params = st.dictionaries(
            st.sampled_from(["query", "variables", "operationName", "extensions"]),
            st.text(max_size=60) | st.sampled_from([DOCUMENT, nested(2000, "list")]),
        )
        query_string = str(httpx.QueryParams(draw(params)))
        return RawRequest("GET", None, query_string=query_string, authorization=authorization)
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            json_bodies(),
            st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        )
    )
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    return RawRequest("POST", content_type, body, authorization=authorization)


@given(request=raw_requests())
@example(RawRequest("POST", "application/json", b"1"))
@example(RawRequest("POST", "application/json", b"null"))
@example(RawRequest("POST", "application/json", b'"{ me { id } }"'))
@example(RawRequest("POST", "application/json", nested(100_000, "list").encode()))
@example(RawRequest("POST", "application/json", deep_variables(100_000, "list")))
@example(
    RawRequest("GET", None, query_string=str(httpx.QueryParams(variables=nested(2000, "list"))))
)
@fuzz_settings(150)
async def test_http_layer(fuzzer: Fuzzer, request: RawRequest) -> None:
    """Whatever arrives at /graphql, the answer is never a 5xx and never shows internals."""
    headers = {}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    role_token = fuzzer.tokens.get(request.authorization)
    authorization = f"Bearer {role_token}" if role_token else AUTHORIZATIONS[request.authorization]
    if authorization is not None:
        headers["Authorization"] = authorization
    url = f"/graphql?{request.query_string}" if request.query_string else "/graphql"

    await fuzzer.request(
        request.method,
        url,
        body=request.body,
        headers=headers,
        graphql_shaped=False,
        valid_token=role_token is not None,
    )
