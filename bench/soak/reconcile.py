"""The end: reconcile the database, the outbox, the SMTP sink and the API, exactly."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.mail import Delivery
from bench.soak.clients import World
from bench.soak.contract import BAD_CHECK_NUMBERS, CHECK, ENTRIES
from bench.soak.database import Snapshot
from bench.soak.ledger import Created, Ledger
from bench.soak.phones import Numbers
from bench.soak.transport import outcome_label
from bench.soak.world import OrgSpec

DIGEST_LINE = re.compile(r"\+[0-9]{8,15}")


@dataclass
class Reconciliation:
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    active: dict[str, dict[str, str]] = field(default_factory=dict)  # org -> number -> id
    removed: dict[str, set[str]] = field(default_factory=dict)  # org -> entry ids

    def fail(self, text: str) -> None:
        if len(self.failures) < 80:
            self.failures.append(text)
        self.figures["failure_count"] = self.figures.get("failure_count", 0) + 1


def reconcile_database(
    orgs: dict[str, OrgSpec], ledger: Ledger, snapshot: Snapshot
) -> Reconciliation:
    """Every entry, event and email row is explained by an answer a client got, exactly."""
    out = Reconciliation()
    org_key = {org.id: key for key, org in orgs.items()}
    entries = {row["id"]: row for row in snapshot.entries}
    made: dict[str, Created] = {}  # every entry that exists, with how it came to be

    for entry_id, created in ledger.created.items():
        row = entries.get(entry_id)
        if row is None:
            out.fail(f"entry {entry_id} ({created.number}) was answered as added but is missing")
            continue
        if (org_key.get(row["organization_id"]), row["phone_number"], row["added_by_id"]) != (
            created.org,
            created.number,
            created.user_id,
        ) or row["channel"] != created.channel:
            out.fail(f"entry {entry_id}: {dict(row)} does not match what was answered {created}")
        made[entry_id] = created

    resolved = Counter[str]()
    for entry_id, row in entries.items():
        if entry_id in made:
            continue
        key = org_key.get(row["organization_id"], "?")
        number = row["phone_number"]
        for candidate in ledger.uncertain:
            if (
                candidate.kind in {"add", "many"}
                and candidate.org == key
                and candidate.user_id == row["added_by_id"]
                and candidate.channel == row["channel"]
                and number in candidate.numbers
                and (candidate.kind == "many" or not candidate.explained)
                and not any(entries[e]["phone_number"] == number for e in candidate.explained)
            ):
                candidate.explained.append(entry_id)
                made[entry_id] = Created(key, number, row["added_by_id"], row["channel"])
                resolved[candidate.kind] += 1
                break
        else:
            out.fail(
                f"entry {entry_id} ({key} {number} {row['status']}) was never answered as added"
            )
    for candidate in ledger.uncertain:
        if candidate.kind != "many" or not candidate.explained:
            continue
        numbers = {entries[e]["phone_number"] for e in candidate.explained}
        moments = {entries[e]["created_at"] for e in candidate.explained}
        if not candidate.whole <= numbers or len(moments) != 1:
            out.fail(f"a lost addManyToDnc wrote only part of its numbers: {sorted(numbers)}")
        ledger.digests.append((candidate.org, frozenset(numbers)))

    removed_by_uncertain = 0
    for entry_id, row in entries.items():
        key = org_key.get(row["organization_id"], "?")
        out.active.setdefault(key, {})
        out.removed.setdefault(key, set())
        removal = ledger.removed.get(entry_id)
        if row["status"] == "ACTIVE":
            if removal is not None:
                out.fail(f"entry {entry_id} ({row['phone_number']}) was removed but is ACTIVE")
            if row["phone_number"] in out.active[key]:
                out.fail(f"{key} {row['phone_number']} has two ACTIVE entries")
            out.active[key][row["phone_number"]] = entry_id
        elif row["status"] == "REMOVED":
            out.removed[key].add(entry_id)
            if removal is not None:
                if row["removed_by_id"] != removal.user_id:
                    out.fail(f"entry {entry_id} removed by {row['removed_by_id']}, not {removal}")
                continue
            for candidate in ledger.uncertain:
                if (
                    candidate.kind == "remove"
                    and candidate.org == key
                    and row["phone_number"] in candidate.numbers
                    and candidate.user_id == row["removed_by_id"]
                    and not candidate.explained
                ):
                    candidate.explained.append(entry_id)
                    removed_by_uncertain += 1
                    break
            else:
                out.fail(f"entry {entry_id} ({row['phone_number']}) is REMOVED; no removal was")
        else:
            out.fail(f"entry {entry_id} is {row['status']}; nothing here expires")

    for number, why in ledger.absent.items():
        holders = [e for e, row in entries.items() if row["phone_number"] == number]
        if holders:
            out.fail(f"{number} failed to be added ({why}) but has entries {holders}")

    for row in snapshot.outbox:
        for number in DIGEST_LINE.findall(str(row["body_text"])):
            if number in ledger.absent:
                out.fail(f"email {row['id']} names {number}, whose add failed")

    events = Counter[tuple[str | None, str]]()
    for event in snapshot.events:
        events[(event["entry_id"], str(event["action"]))] += 1
        row = entries.get(event["entry_id"])
        if row is None or row["phone_number"] != event["phone_number"]:
            out.fail(f"event {dict(event)} does not match its entry")
    want_events = Counter[tuple[str | None, str]]()
    for entry_id, row in entries.items():
        want_events[(entry_id, "ADDED")] += 1
        if row["status"] == "REMOVED":
            want_events[(entry_id, "REMOVED")] += 1
    if events != want_events:
        diff = (events - want_events) + (want_events - events)
        out.fail(f"events differ from one ADDED per entry and one REMOVED per removal: {diff}")

    # The outbox: one row per active admin for each addToDnc, each removal, each bulk digest.
    want = Counter[tuple[str, ...]]()
    for entry_id, created in made.items():
        if created.channel == "VOICE_CALL":
            want[("added", created.org, entry_id)] += 1
        if entries[entry_id]["status"] == "REMOVED":
            want[("removed", created.org, entry_id)] += 1
    for key, digest in ledger.digests:
        want[("digest", key, *sorted(digest))] += 1
    groups: dict[tuple[str, ...], list[asyncpg.Record]] = defaultdict(list)
    for row in snapshot.outbox:
        key = org_key.get(row["organization_id"], "?")
        entry_id = row["dnc_entry_id"]
        subject = str(row["subject"])
        if entry_id is None:
            lines = (line.strip() for line in str(row["body_text"]).splitlines())
            group = ("digest", key, *sorted(n for n in lines if DIGEST_LINE.fullmatch(n)))
        elif subject.endswith("added to the list"):
            group = ("added", key, entry_id)
            if entries.get(entry_id) and entries[entry_id]["phone_number"] not in subject:
                out.fail(f"email {row['id']} subject {subject!r} names another number")
        elif subject.endswith("removed from the list"):
            group = ("removed", key, entry_id)
        else:
            group = ("unknown", key, subject)
        groups[group].append(row)
    emails_expected = 0
    for group, count in want.items():
        admins = orgs[group[1]].admin_emails
        emails_expected += len(admins) * count
        rows = groups.get(group, [])
        recipients = sorted(str(row["recipient"]) for row in rows)
        if recipients != sorted(admins * count):
            out.fail(f"outbox for {group[:3]}: recipients {recipients}, expected {admins * count}")
    for group, rows in groups.items():
        if group not in want:
            out.fail(f"outbox has {len(rows)} rows nobody caused: {group[:3]}")
    statuses = Counter(str(row["status"]) for row in snapshot.outbox)
    if set(statuses) - {"SENT"}:
        out.fail(f"outbox not all SENT: {dict(statuses)}")
    retried = sum(1 for row in snapshot.outbox if row["attempts"] > 1)

    emails_to = {str(u["email"]) for u in snapshot.users if u["role"] == "ADMIN" and u["active"]}
    for row in snapshot.outbox:
        if row["recipient"] not in emails_to:
            out.fail(f"email {row['id']} to {row['recipient']}: not an active admin")

    out.figures.update(
        entries=len(entries),
        entries_active=sum(len(v) for v in out.active.values()),
        entries_removed=sum(len(v) for v in out.removed.values()),
        events=len(snapshot.events),
        outbox_rows=len(snapshot.outbox),
        outbox_expected=emails_expected,
        outbox_status=dict(statuses),
        outbox_retried=retried,
        outbox_max_attempts=max((row["attempts"] for row in snapshot.outbox), default=0),
        uncertain_requests=len(ledger.uncertain),
        uncertain_written=sum(resolved.values()) + removed_by_uncertain,
        absent_numbers=len(ledger.absent),
    )
    return out


def reconcile_sink(
    out: Reconciliation,
    orgs: dict[str, OrgSpec],
    snapshot: Snapshot,
    deliveries: list[Delivery],
    killed: bool,
) -> None:
    """What the SMTP server received is exactly the outbox, matched by Message-ID."""
    rows = {f"<{row['id']}@dnc-api>": row for row in snapshot.outbox}
    received = Counter(d.message_id for d in deliveries)
    for delivery in deliveries:
        row = rows.get(delivery.message_id)
        if row is None:
            out.fail(f"received {delivery.message_id} ({delivery.subject!r}): no such outbox row")
            continue
        if list(delivery.recipients) != [row["recipient"]]:
            out.fail(
                f"{delivery.message_id} delivered to {delivery.recipients}, row says "
                f"{row['recipient']}"
            )
        if delivery.subject != " ".join(str(row["subject"]).split()):
            out.fail(f"{delivery.message_id} subject {delivery.subject!r} != {row['subject']!r}")
        if delivery.has_bcc:
            out.fail(f"{delivery.message_id} carries a Bcc header (header injection)")
    for message_id, row in rows.items():
        if row["status"] == "SENT" and not received[message_id]:
            out.fail(f"outbox row {row['id']} is SENT but the SMTP server never received it")
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    if duplicates and not killed:
        out.fail(f"{duplicates} duplicate deliveries, and no server was killed")
    nobody = {u.email for org in orgs.values() for u in org.users if u not in org.admins}
    strays = [d for d in deliveries if set(d.recipients) & nobody]
    if strays:
        out.fail(f"{len(strays)} emails went to inactive admins or members")
    out.figures.update(
        smtp_received=len(deliveries),
        smtp_unique=len(received),
        smtp_duplicates=duplicates,
    )


async def final_api_checks(
    out: Reconciliation, world: World, spellings: Numbers, rng: random.Random
) -> None:
    """Through the API, at rest: dncEntries lists exactly the ACTIVE entries (and REMOVED ones),
    and dncCheck of every number any client used blocks exactly this organization's."""
    api = world.api
    everything = sorted({n for numbers in world.ledger.touched.values() for n in numbers})
    for key, org in world.orgs.items():
        token = org.active_users[0].token
        for status, want in (
            ("ACTIVE", set(out.active.get(key, {}).values())),
            ("REMOVED", out.removed.get(key, set())),
        ):
            got: list[str] = []
            after: str | None = None
            total = -1
            while True:
                reply = await api.call(
                    "final:dncEntries",
                    token,
                    ENTRIES,
                    {"first": 500, "after": after, "filter": {"status": status}},
                )
                world.stats.outcome("final:dncEntries", outcome_label(reply, "dncEntries"))
                if reply.kind != "ok" or reply.errors:
                    out.fail(f"final dncEntries {key} {status}: {reply.detail or reply.errors}")
                    break
                page = reply.result("dncEntries")
                total = page["totalCount"]
                got += [edge["node"]["id"] for edge in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            if set(got) != want or len(got) != len(want) or total != len(want):
                out.fail(
                    f"final dncEntries {key} {status}: {len(got)} listed (totalCount {total}), "
                    f"{len(want)} in the database; {len(set(got) ^ want)} differ"
                )
        inputs = [spellings.spell(n) for n in everything]
        invalid = rng.sample(BAD_CHECK_NUMBERS, 3)
        inputs += invalid
        reply = await api.call("final:dncCheck", token, CHECK, {"phoneNumbers": inputs})
        world.stats.outcome("final:dncCheck", outcome_label(reply, "dncCheck"))
        if reply.kind != "ok" or reply.errors:
            out.fail(f"final dncCheck {key}: {reply.detail or reply.errors}")
            continue
        result = reply.result("dncCheck")
        active = out.active.get(key, {})
        want_blocked = [s for s, n in zip(inputs, everything, strict=False) if n in active]
        if result["blocked"] != want_blocked or result["invalid"] != invalid:
            out.fail(
                f"final dncCheck {key}: {len(result['blocked'])} blocked, {len(want_blocked)} "
                f"ACTIVE; invalid {result['invalid']} vs {invalid}"
            )
        out.figures.setdefault("final_check_numbers", len(inputs))
