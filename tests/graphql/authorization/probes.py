"""How each cell of the matrix is asked and read: a GraphQL document per root field with a
judge of its reply, the export route, and one dncEvents socket per caller."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from models import User
from tests.graphql.authorization.cast import (
    ACTORS,
    EXPORT,
    FB,
    HOME,
    NF,
    OK,
    ORGS,
    UN,
    Actor,
    Cell,
    Outcome,
    Resource,
    Target,
    World,
)
from tests.support.operations import ADD, ADD_MANY, CHECK, ENTRY, ME, REMOVE
from tests.support.sockets import REJECTED, Socket

# Beside the shared documents: every page at once (`first: 500`), and the ids and emails of
# the nested objects, which is where another organization's data would show.
EVERY_ENTRY = """
query Entries {
  dncEntries(first: 500) {
    totalCount
    edges { node { id phoneNumber addedBy { id email } batch { id } callRecord { id } } }
  }
}
"""
HISTORY_WITH_ENTRIES = """
query History($phoneNumber: String!) {
  dncHistory(phoneNumber: $phoneNumber) { id action phoneNumber actor { id email } entry { id } }
}
"""
EVERY_EVENT = """
query AuditLog {
  dncAuditLog(first: 500) {
    totalCount
    edges { node { id action phoneNumber actor { id email } entry { id } } }
  }
}
"""


# --- observing one cell ----------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")


@dataclass(frozen=True)
class Observation:
    outcome: Outcome | str  # a str describes a reply outside the vocabulary
    fingerprint: str  # the reply with the caller's own values, ids and instants masked
    reply: str  # the raw reply, searched for the other organization's data
    sent: str  # what the caller sent: its own values may come back


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a variables document, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")


def observe(outcome: Outcome | str, reply: str, variables: dict[str, Any]) -> Observation:
    masked = reply
    for path, value in sorted(leaves(variables), key=lambda leaf: -len(leaf[1])):
        masked = masked.replace(value, f"<{path}>")
    masked = _INSTANT.sub("<instant>", _UUID.sub("<id>", masked))
    return Observation(outcome, masked, reply, json.dumps(variables))


# A reply's data (after any refusal) -> the outcome; the caller is the user behind the token.
Judge = Callable[[Any, Target, User | None], Outcome | str]


def refusal(body: dict[str, Any], name: str) -> Outcome | str | None:
    """UNAUTHENTICATED or FORBIDDEN when that is the reply's only error and nothing came back."""
    errors = body.get("errors") or []
    if not errors:
        return None
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if codes in (["UNAUTHENTICATED"], ["FORBIDDEN"]) and not (body.get("data") or {}).get(name):
        return Outcome(codes[0])
    return f"errors {codes}"


async def ask(
    world: World,
    actor: Actor,
    name: str,
    query: str,
    variables: dict[str, Any],
    target: Target,
    judge: Judge,
) -> Observation:
    response = await world.gql(query, variables, token=world.tokens[actor])
    outcome = refusal(response.body, name)
    if outcome is None:
        outcome = judge(response.body["data"][name], target, world.users.get(actor))
    return observe(outcome, json.dumps(response.body), variables)


def listed(numbers: list[str], total: int, target: Target) -> Outcome | str:
    """A page holding everything: the target is on it or not, and the count is the page's."""
    if total != len(numbers):
        return f"totalCount {total} for {len(numbers)} rows"
    return OK if target.number in numbers else NF


def judge_me(me: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    if caller and (me["id"], me["email"], me["role"]) == (
        str(caller.id),
        caller.email,
        caller.role,
    ):
        return OK
    return f"me is {me}"


def judge_entries(page: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    numbers = [edge["node"]["phoneNumber"] for edge in page["edges"]]
    return listed(numbers, page["totalCount"], target)


def judge_entry(entry: dict[str, Any] | None, target: Target, caller: User | None) -> Outcome | str:
    if entry is None:
        return NF
    shape = (entry["phoneNumber"], entry["status"])
    return OK if shape == (target.number, "ACTIVE") else f"dncEntry {shape}"


def judge_check(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    shape = (tuple(result["blocked"]), tuple(result["invalid"]), result["checked"])
    return {((target.number,), (), 1): OK, ((), (), 1): NF}.get(shape, f"dncCheck {shape}")


def judge_history(
    events: list[dict[str, Any]], target: Target, caller: User | None
) -> Outcome | str:
    if not events:
        return NF
    seen = [(event["action"], event["phoneNumber"]) for event in events]
    return OK if seen == [("ADDED", target.number)] else f"history {seen}"


def judge_audit_log(page: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    numbers = [edge["node"]["phoneNumber"] for edge in page["edges"]]
    return listed(numbers, page["totalCount"], target)


def judge_add(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    kind = result["__typename"]
    if kind == "AddToDncSuccess":
        entry = result["entry"]
        by = (entry["addedBy"] or {}).get("id")
        if (entry["phoneNumber"], by) == (target.number, str(caller and caller.id)):
            return OK
    if kind == "NotFoundError" and result["code"] == "BATCH_NOT_FOUND":
        return NF
    return f"{kind} {result.get('code')}"


def judge_remove(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    kind = result["__typename"]
    if kind == "RemoveFromDncSuccess":
        entry = result["entry"]
        by = (entry["removedBy"] or {}).get("id")
        if (entry["phoneNumber"], entry["status"], by) == (
            target.number,
            "REMOVED",
            str(caller and caller.id),
        ):
            return OK
    if kind == "NotFoundError" and result["code"] == "ENTRY_NOT_FOUND":
        return NF
    return f"{kind} {result.get('code')}"


def judge_add_many(result: dict[str, Any], target: Target, caller: User | None) -> Outcome | str:
    # The number is on the list: reported as such. Not on the caller's list: simply added.
    statuses = [item["status"] for item in result["items"]]
    return {"ALREADY_ON_DNC": OK, "ADDED": NF}.get(statuses[0] if statuses else "", f"{statuses}")


def graphql_run(
    name: str,
    query: str,
    variables: Callable[[Target], dict[str, Any]],
    judge: Judge,
) -> Callable[[World, Actor, Target], Awaitable[Observation]]:
    async def run(world: World, actor: Actor, target: Target) -> Observation:
        return await ask(world, actor, name, query, variables(target), target, judge)

    return run


async def run_export(world: World, actor: Actor, target: Target) -> Observation:
    token = world.tokens[actor]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await world.http.get("/export/dnc.csv", headers=headers)
    outcome: Outcome | str = {401: UN, 403: FB}.get(
        response.status_code, f"HTTP {response.status_code}"
    )
    if response.status_code == 200:
        rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
        outcome = OK if target.number in [row["phone_number"] for row in rows] else NF
    return observe(outcome, f"{response.status_code} {response.text}", {})


@dataclass(frozen=True)
class Probe:
    """How the cells of one field (or route) are set up and observed."""

    name: str
    resources: tuple[Resource, ...]
    prepare: Callable[[World, Resource], Awaitable[Target]]
    run: Callable[[World, Actor, Target], Awaitable[Observation]] | None
    controlled: bool = False  # NOT_FOUND is compared with a run on a nonexistent resource
    changes_home_on: frozenset[Outcome] = frozenset()  # after which the caller's list changed


async def no_target(world: World, resource: Resource) -> Target:
    return Target()


def add_variables(target: Target) -> dict[str, Any]:
    return {
        "input": {
            "phoneNumber": target.number,
            "batchId": target.batch_id,
            "requestUUID": target.request_uuid,
        }
    }


BOTH = (Resource.A, Resource.B)
# Reads first (they share the seeded numbers), then the writes (each on a fresh resource).
FIELDS = (
    Probe("me", (Resource.CALLER,), no_target, graphql_run("me", ME, lambda t: {}, judge_me)),
    Probe(
        "dncEntries",
        BOTH,
        World.seeded_number,
        graphql_run("dncEntries", EVERY_ENTRY, lambda t: {}, judge_entries),
    ),
    Probe(
        "dncEntry",
        BOTH,
        World.seeded_number,
        graphql_run("dncEntry", ENTRY, lambda t: {"phoneNumber": t.number}, judge_entry),
        controlled=True,
    ),
    Probe(
        "dncCheck",
        BOTH,
        World.seeded_number,
        graphql_run("dncCheck", CHECK, lambda t: {"phoneNumbers": [t.number]}, judge_check),
        controlled=True,
    ),
    Probe(
        "dncHistory",
        BOTH,
        World.seeded_number,
        graphql_run(
            "dncHistory", HISTORY_WITH_ENTRIES, lambda t: {"phoneNumber": t.number}, judge_history
        ),
        controlled=True,
    ),
    Probe(
        "dncAuditLog",
        BOTH,
        World.seeded_number,
        graphql_run("dncAuditLog", EVERY_EVENT, lambda t: {}, judge_audit_log),
    ),
    Probe("dncEvents", BOTH, World.seeded_number, None),  # observed over one socket per caller
    Probe(EXPORT, BOTH, World.seeded_number, run_export),
    Probe(
        "addToDnc",
        BOTH,
        World.fresh_call,
        graphql_run("addToDnc", ADD, add_variables, judge_add),
        controlled=True,
        changes_home_on=frozenset({OK}),
    ),
    Probe(
        "removeFromDnc",
        BOTH,
        World.fresh_entry,
        graphql_run(
            "removeFromDnc",
            REMOVE,
            lambda t: {"input": {"phoneNumber": t.number, "reason": "Asked by the matrix."}},
            judge_remove,
        ),
        controlled=True,
        changes_home_on=frozenset({OK}),
    ),
    Probe(
        "addManyToDnc",
        BOTH,
        World.fresh_entry,
        graphql_run(
            "addManyToDnc",
            ADD_MANY,
            lambda t: {"input": {"channel": "MANUAL", "entries": [{"phoneNumber": t.number}]}},
            judge_add_many,
        ),
        controlled=True,
        changes_home_on=frozenset({NF}),
    ),
)


# --- dncEvents: graphql-transport-ws against the in-process app ------------------------------


def socket_observation(socket: Socket, target: Target) -> Observation:
    """What one caller's socket shows of `target`'s event."""
    if socket.close_code is not None and not socket.acknowledged:
        outcome: Outcome | str = (
            UN if socket.close_code in REJECTED else f"closed {socket.close_code}"
        )
        return observe(outcome, f"closed {socket.close_code}", {})
    kinds = {json.loads(text)["type"] for text in socket.texts}
    if kinds - {"connection_ack", "next"}:
        return observe(f"messages {kinds}", "\n".join(socket.texts), {})
    return observe(OK if target.number in socket.numbers() else NF, "\n".join(socket.texts), {})


async def watch_dnc_events(
    world: World, app: Any, mismatches: list[str]
) -> dict[Cell, Observation]:
    """Every caller subscribes; each organization's seeded number is added, then a fence.

    The fence (one more change of the caller's own organization) arrives after everything that
    was committed before it, so a socket holding its fence has received all it ever will.
    """
    await app.state.broker.wait_listening()
    sockets = {actor: Socket(app) for actor in ACTORS}
    for actor, socket in sockets.items():
        await socket.subscribe(world.tokens[actor])
    live = {actor: s for actor, s in sockets.items() if s.acknowledged and actor in HOME}
    # The protocol has no reply to `subscribe`: a change that arrives proves it is running.
    waiting = dict(live)
    for _ in range(20):
        if not waiting:
            break
        added = {org: await world.add(org) for org in ORGS}
        for actor, socket in list(waiting.items()):
            if await socket.receives(added[HOME[actor]], 0.25):
                del waiting[actor]
    for actor in waiting:
        mismatches.append(f"dncEvents | {actor}: the subscription never went live")
    for org in ORGS:
        world.seeded[org] = Target(number=await world.add(org))
    fences = {org: await world.add(org) for org in ORGS}
    for actor, socket in live.items():
        if not await socket.receives(fences[HOME[actor]], 5):
            mismatches.append(f"dncEvents | {actor}: its organization's fence never arrived")
    for socket in sockets.values():
        await socket.close()
    return {
        Cell("dncEvents", actor, org): socket_observation(sockets[actor], world.seeded[org])
        for actor in ACTORS
        for org in ORGS
    }
