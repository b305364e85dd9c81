"""The service's contract as the clients use it: the GraphQL documents they send, the bounds of
its inputs, the values it must refuse, and how its DateTime values are written.
"""

from __future__ import annotations

from datetime import UTC, datetime

NOTE_LIMIT = 2000
MANY_LIMIT = 10_000


REASONS = ["CUSTOMER_REQUEST", "COMPLAINT", "WRONG_NUMBER", "LEGAL_REQUEST", "OTHER"]
MANY_CHANNELS = ["SMS", "EMAIL", "WEB", "MANUAL", "IMPORT"]
# Never a valid number, whatever the spelling (the service refuses them with field phoneNumber).
BAD_ADD_NUMBERS = ["", "   ", "12345", "+1 212 555 01ab", "+99912345678", "not a number", "1" * 16]
# Not 8 to 15 digits once separators and a leading + or 00 are dropped: dncCheck's `invalid`.
BAD_CHECK_NUMBERS = [
    "",
    "12345",
    "not a number",
    "+1 212 555 01ab",
    "1" * 16,
    "--",
    "00",
    "1234567",
]
# Readable (8 to 15 digits) but never on any list: an unknown country code.
NEUTRAL_CHECK_NUMBERS = ["+99912345678", "999 1234 5678 9"]
TRICKY_TEXT = [
    'Asked twice <b>politely</b> & then "firmly"',
    "line one\r\nBcc: intruder@evil.example\r\nSubject: injected",
    '=HYPERLINK("http://evil.example")',
    "unicode: ne m'appelez plus \u2014 \u00e7a suffit \U0001f4f5",
]


ADD = """
mutation SoakAdd($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { id phoneNumber status channel } }
    ... on AlreadyOnDncError { code entry { id phoneNumber status } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}"""
ADD_MANY = """
mutation SoakAddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    __typename success statusCode message added alreadyOnDnc invalid code field
    items { phoneNumber status message entry { id phoneNumber status channel } }
  }
}"""
REMOVE = """
mutation SoakRemove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on RemoveFromDncSuccess { entry { id phoneNumber status removalReason } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}"""
ENTRIES = """
query SoakEntries($first: Int, $after: String, $filter: DncEntryFilter) {
  dncEntries(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id phoneNumber createdAt status channel reason batch { id } } }
  }
}"""
ENTRY = """
query SoakEntry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { id phoneNumber status }
}"""
CHECK = """
query SoakCheck($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}"""
ME = "query SoakMe { me { id email role } }"


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()
