"""The GraphQL operations the tests send, each written once, as the dashboard and the dialer
send them. A test that needs a narrower or wider selection writes its own beside it."""

from __future__ import annotations

ENTRY_FIELDS = """
fragment Entry on DncEntry {
  id phoneNumber reason note createdAt recordingUrl transcription channel requestedAt
  expiresAt status removedAt removalReason
  addedBy { id email name role active }
  removedBy { id email }
  batch { id name }
  callRecord { id requestUUID phoneNumber recordingUrl transcription calledAt }
}
"""

ADD = (
    """
mutation Add($input: AddToDncInput!) {
  addToDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on AddToDncSuccess { entry { ...Entry } }
    ... on AlreadyOnDncError { code entry { ...Entry } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
    + ENTRY_FIELDS
)

# The outcome's type alone: for tests about access, limits and transport, not the entry.
ADD_TYPENAME = "mutation Add($input: AddToDncInput!) { addToDnc(input: $input) { __typename } }"

REMOVE = (
    """
mutation Remove($input: RemoveFromDncInput!) {
  removeFromDnc(input: $input) {
    __typename
    ... on MutationResult { success statusCode message }
    ... on RemoveFromDncSuccess { entry { ...Entry } }
    ... on ValidationError { code field }
    ... on NotFoundError { code }
  }
}
"""
    + ENTRY_FIELDS
)

ADD_MANY = """
mutation AddMany($input: AddManyToDncInput!) {
  addManyToDnc(input: $input) {
    __typename success statusCode message added alreadyOnDnc invalid code field
    items { phoneNumber status message entry { id phoneNumber status channel createdAt } }
  }
}
"""

ENTRY = (
    """
query Entry($phoneNumber: String!) {
  dncEntry(phoneNumber: $phoneNumber) { ...Entry }
}
"""
    + ENTRY_FIELDS
)

ENTRIES = """
query Entries($first: Int, $after: String, $filter: DncEntryFilter) {
  dncEntries(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id phoneNumber reason channel status createdAt } }
  }
}
"""

CHECK = """
query Check($phoneNumbers: [String!]!) {
  dncCheck(phoneNumbers: $phoneNumbers) { blocked invalid checked }
}
"""

HISTORY = """
query History($phoneNumber: String!) {
  dncHistory(phoneNumber: $phoneNumber) { id action phoneNumber at channel reason actor { id } }
}
"""

ME = "query Me { me { id email role } }"

# The feed of changes, as the dashboard subscribes to it over graphql-transport-ws.
DNC_EVENTS = (
    "subscription { dncEvents { id action phoneNumber at channel reason actor { id email } "
    "entry { id status } } }"
)

# The smallest introspection: for tests of whether introspection answers, not of the schema.
INTROSPECTION = "{ __schema { queryType { name } } }"
