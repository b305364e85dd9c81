"""Who may do what to whose data: every root field and the CSV export, for every kind of caller,
against a resource of organization A and one of organization B, on both databases.

The expected outcome of each cell is written down once, in MATRIX. One test runs every cell and
reports every wrong cell at once; a root field or data route without rows fails the other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from api.app import create_app
from api.graphql import graphiql
from api.graphql.schema import build_schema
from api.settings import Settings
from models import (
    Batch,
    CallRecord,
    DncEntry,
    DncEntryStatus,
    DncEvent,
    EmailOutbox,
    User,
    UserRole,
)
from tests.conftest import make_settings
from tests.graphql.authorization.cast import (
    ACTORS,
    EXPORT,
    FB,
    HOME,
    NF,
    OK,
    ORGS,
    UN,
    Cell,
    Outcome,
    Resource,
    World,
    build_world,
)
from tests.graphql.authorization.probes import FIELDS, Observation, Probe, watch_dnc_events
from tests.support.client import GraphQLClient

# What each resource is: for the reads, a number on that organization's list (added from one of
# its calls, so it has an ADDED event); for addToDnc, one of its batches and a fresh call of it;
# for removeFromDnc and addManyToDnc, a fresh number on its list; for dncEvents, the event of
# adding such a number; for the export, its row.
# fmt: off
MATRIX: dict[tuple[str, Resource], tuple[Outcome, ...]] = {
    #                                 no     member admin  member admin  inactive unknown  B as
    #                                 token  of A   of A   of B   of B   admin A  user     A
    ("me", Resource.CALLER):         (UN,    OK,    OK,    OK,    OK,    UN,      UN,      UN),
    ("dncEntries", Resource.A):      (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEntries", Resource.B):      (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncEntry", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEntry", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncCheck", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncCheck", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncHistory", Resource.A):      (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncHistory", Resource.B):      (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("dncAuditLog", Resource.A):     (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("dncAuditLog", Resource.B):     (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("dncEvents", Resource.A):       (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("dncEvents", Resource.B):       (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    (EXPORT, Resource.A):            (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    (EXPORT, Resource.B):            (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("addToDnc", Resource.A):        (UN,    OK,    OK,    NF,    NF,    UN,      UN,      UN),
    ("addToDnc", Resource.B):        (UN,    NF,    NF,    OK,    OK,    UN,      UN,      UN),
    ("removeFromDnc", Resource.A):   (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("removeFromDnc", Resource.B):   (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
    ("addManyToDnc", Resource.A):    (UN,    FB,    OK,    FB,    NF,    UN,      UN,      UN),
    ("addManyToDnc", Resource.B):    (UN,    FB,    NF,    FB,    OK,    UN,      UN,      UN),
}
# fmt: on


def cells() -> Iterator[tuple[Cell, Outcome]]:
    for (name, resource), outcomes in MATRIX.items():
        for actor, outcome in zip(ACTORS, outcomes, strict=True):
            yield Cell(name, actor, resource), outcome


ROOT_FIELDS = """
{ __schema {
    queryType { fields { name } }
    mutationType { fields { name } }
    subscriptionType { fields { name } }
} }
"""


# --- what changed where ----------------------------------------------------------------------


def names(orgs: set[Resource]) -> str:
    return "{" + ", ".join(sorted(org.name for org in orgs)) + "}"


async def snapshot(world: World) -> dict[Resource, tuple[int, ...]]:
    """Per organization: entries, ACTIVE entries, events, emails."""
    counts: dict[Resource, tuple[int, ...]] = {}
    for org, tenant in world.tenants.items():
        mine = {"organization_id": tenant.organization.id}
        counts[org] = (
            await DncEntry.filter(**mine).count(),
            await DncEntry.filter(**mine, status=DncEntryStatus.ACTIVE).count(),
            await DncEvent.filter(**mine).count(),
            await EmailOutbox.filter(**mine).count(),
        )
    return counts


async def identifiers(world: World) -> dict[Resource, set[str]]:
    """Every id, email and number of each organization that the other has none of."""
    found: dict[Resource, set[str]] = {}
    for org, tenant in world.tenants.items():
        oid = tenant.organization.id
        values = {str(oid)}
        for row in await User.filter(organization_id=oid).values_list("id", "email"):
            values.update(map(str, row))
        values.update(
            map(str, await Batch.filter(organization_id=oid).values_list("id", flat=True))
        )
        for row in await CallRecord.filter(batch__organization_id=oid).values_list(
            "id", "request_uuid", "phone_number"
        ):
            values.update(map(str, row))
        for row in await DncEntry.filter(organization_id=oid).values_list("id", "phone_number"):
            values.update(map(str, row))
        values.update(
            map(str, await DncEvent.filter(organization_id=oid).values_list("id", flat=True))
        )
        found[org] = values
    shared = found[Resource.A] & found[Resource.B]  # a number both lists hold, legitimately
    return {org: values - shared for org, values in found.items()}


async def misdirected_emails(world: World, owned: dict[Resource, set[str]]) -> list[str]:
    """Each notification goes to an active admin of its own organization, about its own list."""
    found = []
    for org, tenant in world.tenants.items():
        mine = {"organization_id": tenant.organization.id}
        admins = set(
            await User.filter(**mine, role=UserRole.ADMIN, active=True).values_list(
                "email", flat=True
            )
        )
        rows = await EmailOutbox.filter(**mine).values_list(
            "recipient", "subject", "body_text", "body_html"
        )
        for recipient, *texts in rows:
            if recipient not in admins:
                found.append(f"an email of {org.name} went to {recipient}")
            other = owned[Resource.B if org is Resource.A else Resource.A]
            if leaked := {value for value in other if any(value in text for text in texts)}:
                found.append(f"an email of {org.name} holds the other's data {sorted(leaked)}")
    return found


# --- the tests -------------------------------------------------------------------------------


@dataclass
class Results:
    expected: dict[Cell, Outcome]
    observed: dict[Cell, Observation] = field(default_factory=dict)
    controls: dict[Cell, Observation] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    async def run(self, world: World, spec: Probe) -> None:
        """Every cell of one field; a write's cell also checks which organization changed."""
        assert spec.run is not None
        for actor in ACTORS:
            for resource in spec.resources:
                cell = Cell(spec.name, actor, resource)
                target = await spec.prepare(world, resource)
                before = await snapshot(world) if spec.changes_home_on else None
                self.observed[cell] = seen = await spec.run(world, actor, target)
                if before is not None:
                    after = await snapshot(world)
                    changed = {org for org in ORGS if before[org] != after[org]}
                    home = {HOME[actor]} if actor in HOME else set()
                    should = home if seen.outcome in spec.changes_home_on else set()
                    if changed != should:
                        self.mismatches.append(
                            f"{cell}: changed {names(changed)}, expected {names(should)}"
                            f" ({before} -> {after})"
                        )
                if spec.controlled and self.expected[cell] is NF:
                    control = await spec.prepare(world, Resource.NOWHERE)
                    self.controls[cell] = await spec.run(world, actor, control)

    def judge(self) -> None:
        """Each cell against the matrix, a NOT_FOUND against its control."""
        for cell, outcome in self.expected.items():
            seen = self.observed[cell]
            if seen.outcome != outcome:
                self.mismatches.append(
                    f"{cell}: expected {outcome}, got {seen.outcome}: {seen.reply[:300]}"
                )
            control = self.controls.get(cell)
            if control and control.fingerprint != seen.fingerprint:
                self.mismatches.append(
                    f"{cell}: differs from a nonexistent resource:\n"
                    f"    {seen.fingerprint}\n    {control.fingerprint}"
                )

    def judge_refusals(self) -> None:
        """A refusal says nothing of the caller, its role or the resource: one reply per field."""
        for spec in FIELDS:
            for kind in (UN, FB):
                replies = {
                    self.observed[cell].fingerprint
                    for cell, outcome in self.expected.items()
                    if cell.field == spec.name and outcome is kind
                }
                if len(replies) > 1:
                    self.mismatches.append(f"{spec.name}: {len(replies)} {kind} replies: {replies}")

    def judge_leaks(self, owned: dict[Resource, set[str]]) -> None:
        """Nothing of another organization in any reply, unless the caller sent it itself."""
        for cell, seen in [*self.observed.items(), *self.controls.items()]:
            for org in ORGS:
                if org is HOME.get(cell.actor):
                    continue
                leaked = {v for v in owned[org] if v in seen.reply and v not in seen.sent}
                if leaked:
                    self.mismatches.append(f"{cell}: the reply holds {org} data {sorted(leaked)}")


async def test_every_cell_of_the_matrix(
    app: Any, gql: GraphQLClient, http: httpx.AsyncClient, settings: Settings
) -> None:
    world = await build_world(gql, http, settings)
    results = Results(dict(cells()))
    results.observed.update(await watch_dnc_events(world, app, results.mismatches))
    before = await snapshot(world)
    for spec in FIELDS:
        if spec.run is not None and not spec.changes_home_on:
            await results.run(world, spec)
    if (after := await snapshot(world)) != before:
        results.mismatches.append(f"the reads changed the lists: {before} -> {after}")
    for spec in FIELDS:
        if spec.changes_home_on:
            await results.run(world, spec)

    results.judge()
    results.judge_refusals()
    owned = await identifiers(world)
    results.judge_leaks(owned)
    results.mismatches.extend(await misdirected_emails(world, owned))
    mismatches = results.mismatches
    assert not mismatches, f"{len(mismatches)} wrong cells:\n" + "\n".join(mismatches)


async def test_every_field_and_data_route_has_its_rows() -> None:
    result = await build_schema().execute(ROOT_FIELDS)
    assert result.errors is None, result.errors
    assert result.data is not None
    root_fields = {
        entry["name"] for kind in result.data["__schema"].values() for entry in kind["fields"]
    }
    app = create_app(make_settings("sqlite://:memory:", None))
    paths = {getattr(route, "path", repr(route)) for route in app.routes}
    # Routes that serve no organization's data; the GraphQL fields are rows of their own.
    public = {"/graphql", f"{graphiql.ASSETS_PATH}/{{name}}", "/healthz", "/readyz", "/metrics"}
    data_routes = {f"GET {path}" for path in paths - public}

    assert {name for name, _ in MATRIX} == root_fields | data_routes
    assert [spec.name for spec in FIELDS] == list(dict.fromkeys(name for name, _ in MATRIX))
    assert set(MATRIX) == {(spec.name, resource) for spec in FIELDS for resource in spec.resources}
    assert all(len(outcomes) == len(ACTORS) for outcomes in MATRIX.values())
