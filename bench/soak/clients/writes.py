"""Writes of one number: addToDnc (new, again, after a removal, every invalid case),
removeFromDnc, and a MEMBER's ADMIN-only mutations.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from bench.soak.clients.base import ClientBase
from bench.soak.contract import (
    ADD,
    ADD_MANY,
    BAD_ADD_NUMBERS,
    NOTE_LIMIT,
    REMOVE,
    TRICKY_TEXT,
    iso,
    now_utc,
)
from bench.soak.ledger import Removal, Uncertain, short
from bench.soak.transport import outcome_label


class WriteOps(ClientBase):
    """addToDnc and removeFromDnc of one number, with every answer checked."""

    async def add_new(self) -> None:
        number = self.fresh()
        reply = await self.world.api.call(
            "addToDnc:new", self.user.token, ADD, {"input": self.add_input(self.spell(number))}
        )
        label = self.judge("addToDnc:new", reply, "addToDnc", ["AddToDncSuccess"])
        self.settle_add("addToDnc:new", reply, label, number, self.user, may_write=True)

    async def add_again(self) -> None:
        """A number already on the list: AlreadyOnDncError with the existing entry."""
        if not self.active:
            return await self.add_new()
        number = self.rng.choice(list(self.active))
        reply = await self.world.api.call(
            "addToDnc:duplicate",
            self.user.token,
            ADD,
            {"input": self.add_input(self.spell(number))},
        )
        label = self.judge("addToDnc:duplicate", reply, "addToDnc", ["AlreadyOnDncError"])
        result = reply.result("addToDnc")
        if label == "AlreadyOnDncError" and result["entry"]["id"] != self.active[number]:
            self.world.ledger.anomaly(
                f"addToDnc:duplicate {number}: existing entry {self.active[number]}, "
                f"answer names {result['entry']['id']}"
            )
        return None

    async def add_removed(self) -> None:
        """A number that was removed: a new ACTIVE entry, the old one stays REMOVED."""
        if not self.removed:
            return await self.add_new()
        number = self.removed.pop(self.rng.randrange(len(self.removed)))
        reply = await self.world.api.call(
            "addToDnc:readd", self.user.token, ADD, {"input": self.add_input(self.spell(number))}
        )
        label = self.judge("addToDnc:readd", reply, "addToDnc", ["AddToDncSuccess"])
        if label == "AddToDncSuccess" or reply.kind == "ambiguous":
            self.settle_add("addToDnc:readd", reply, label, number, self.user, may_write=True)
        elif reply.kind == "unavailable":
            self.removed.append(number)
        return None

    async def add_invalid(self) -> None:
        """One of the contract's failure cases: its union member, and nothing written."""
        org, rng = self.org, self.rng
        other = self.world.orgs[rng.choice([k for k in self.world.orgs if k != org.key])]
        batch = self.rng.choice(self.org.batches)
        token = self.user.token
        cases = [
            "bad_number",
            "long_note",
            "past_expiry",
            "unknown_batch",
            "batch_not_uuid",
            "other_org_batch",
            "ownerless_batch",
            "unknown_call",
            "call_of_other_batch",
            "bad_number_and_batch",
            "long_note_and_batch",
            "listed_and_batch",
            "listed_and_owner",
            "listed_and_call",
            "request_uuid_not_uuid",
            "inactive_admin",
            "expired_token",
            "foreign_token",
        ]
        case = rng.choice(cases)
        listed = rng.choice(list(self.active)) if self.active else None
        fresh = self.fresh()
        number: str | None = fresh
        values = self.add_input(self.spell(fresh))
        expected = ""
        if case == "bad_number":
            number = None
            values["phoneNumber"] = rng.choice(BAD_ADD_NUMBERS)
            expected = "ValidationError(phoneNumber)"
        elif case == "long_note":
            values["note"] = "x" * (NOTE_LIMIT + 1)
            expected = "ValidationError(note)"
        elif case == "past_expiry":
            values["expiresAt"] = iso(now_utc() - timedelta(hours=1))
            expected = "ValidationError(expiresAt)"
        elif case == "unknown_batch":
            values["batchId"] = str(uuid.uuid4())
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "batch_not_uuid":
            values["batchId"] = "batch-42"
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "other_org_batch":
            foreign = rng.choice(other.batches)
            values["batchId"] = str(foreign.id)
            values["requestUUID"] = str(rng.choice(foreign.calls))
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        elif case == "ownerless_batch":
            values["batchId"] = str(org.ownerless.id)
            values["requestUUID"] = str(rng.choice(org.ownerless.calls))
            expected = "NotFoundError(USER_NOT_FOUND)"
        elif case == "unknown_call":
            values["requestUUID"] = str(uuid.uuid4())
            expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "call_of_other_batch":
            second = next(b for b in org.batches if b.id != batch.id)
            values["batchId"], values["requestUUID"] = str(batch.id), str(rng.choice(second.calls))
            expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "bad_number_and_batch":
            number = None
            values["phoneNumber"] = rng.choice(BAD_ADD_NUMBERS)
            values["batchId"] = str(uuid.uuid4())
            values["note"] = "x" * (NOTE_LIMIT + 1)
            expected = "ValidationError(phoneNumber)"
        elif case == "long_note_and_batch":
            values["note"] = "x" * (NOTE_LIMIT + 1)
            values["batchId"] = str(uuid.uuid4())
            expected = "ValidationError(note)"
        elif case in {"listed_and_batch", "listed_and_owner", "listed_and_call"} and listed:
            # Already on the list, but an earlier rule applies first.
            number = None
            values["phoneNumber"] = self.spell(listed)
            if case == "listed_and_batch":
                values["batchId"] = str(uuid.uuid4())
                expected = "NotFoundError(BATCH_NOT_FOUND)"
            elif case == "listed_and_owner":
                values["batchId"] = str(org.ownerless.id)
                values["requestUUID"] = str(rng.choice(org.ownerless.calls))
                expected = "NotFoundError(USER_NOT_FOUND)"
            else:
                values["requestUUID"] = str(uuid.uuid4())
                expected = "NotFoundError(CALL_RECORD_NOT_FOUND)"
        elif case == "request_uuid_not_uuid":
            values["requestUUID"] = "not-a-uuid"
        elif case == "inactive_admin":
            token = org.inactive_admin.token
            expected = "error:UNAUTHENTICATED"
        elif case == "expired_token":
            token = self.world.expired_tokens[org.key]
            expected = "error:UNAUTHENTICATED"
        elif case == "foreign_token":
            token = self.world.foreign_token
            expected = "error:UNAUTHENTICATED"
        else:  # a "listed_*" case with nothing listed yet
            values["batchId"] = str(uuid.uuid4())
            expected = "NotFoundError(BATCH_NOT_FOUND)"
        op = f"addToDnc:invalid:{case}"
        reply = await self.world.api.call("addToDnc:invalid", token, ADD, {"input": values})
        if case == "request_uuid_not_uuid":
            # A standard GraphQL validation error: any code but a masked one, and no data.
            label = outcome_label(reply, "addToDnc")
            standard = label.startswith("error:") and "INTERNAL_SERVER_ERROR" not in label
            expected = label if standard and reply.data is None else "error:(standard, no data)"
        label = self.judge("addToDnc:invalid", reply, "addToDnc", [expected], case=case)
        if number is not None:
            if label == "AddToDncSuccess":  # already an anomaly; keep the ledger true
                self.settle_add(op, reply, label, number, self.user, may_write=True)
            else:
                self.never_added(number, op)

    async def forbidden(self) -> None:
        """A MEMBER calling an ADMIN-only mutation: FORBIDDEN, nothing written."""
        if self.rng.random() < 0.5 and self.active:
            number = self.rng.choice(list(self.active))
            reply = await self.world.api.call(
                "removeFromDnc:member",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": "member tries"}},
            )
            self.judge("removeFromDnc:member", reply, "removeFromDnc", ["error:FORBIDDEN"])
            return
        number = self.fresh()
        reply = await self.world.api.call(
            "addManyToDnc:member",
            self.user.token,
            ADD_MANY,
            {"input": {"channel": "WEB", "entries": [{"phoneNumber": number}]}},
        )
        self.judge("addManyToDnc:member", reply, "addManyToDnc", ["error:FORBIDDEN"])
        self.never_added(number, "addManyToDnc by a MEMBER")

    async def remove(self) -> None:
        """removeFromDnc (ADMIN): mostly own listed numbers; sometimes the error cases."""
        rng, ledger = self.rng, self.world.ledger
        roll = rng.random()
        if roll < 0.75 and self.active:
            number = rng.choice(list(self.active))
            reason = rng.choice(["entered by mistake", *TRICKY_TEXT])
            reply = await self.world.api.call(
                "removeFromDnc",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": reason}},
            )
            label = self.judge("removeFromDnc", reply, "removeFromDnc", ["RemoveFromDncSuccess"])
            entry_id = self.active[number]
            if label == "RemoveFromDncSuccess":
                entry = reply.result("removeFromDnc")["entry"]
                if entry["id"] != entry_id or entry["status"] != "REMOVED":
                    ledger.anomaly(f"removeFromDnc {number} ({entry_id}): {short(entry)}")
                ledger.removed[entry_id] = Removal(self.org.key, number, self.user.id)
                del self.active[number]
                self.removed.append(number)
            elif reply.kind == "ambiguous" or label == "error:INTERNAL_SERVER_ERROR":
                ledger.uncertain.append(
                    Uncertain("remove", self.org.key, self.user.id, frozenset({number}), "")
                )
                del self.active[number]
            return
        if roll < 0.85:
            pool = self.absent + self.removed
            number = rng.choice(pool) if pool else self.fresh()
            if not pool:
                self.never_added(number, "only ever removed")
            reply = await self.world.api.call(
                "removeFromDnc:unlisted",
                self.user.token,
                REMOVE,
                {"input": {"phoneNumber": self.spell(number), "reason": "not on the list"}},
            )
            self.judge(
                "removeFromDnc:unlisted",
                reply,
                "removeFromDnc",
                ["NotFoundError(ENTRY_NOT_FOUND)"],
            )
            return
        if roll < 0.93 and self.active:
            number = rng.choice(list(self.active))
            variables = {"input": {"phoneNumber": self.spell(number), "reason": "   "}}
            expected = "ValidationError(reason)"
        else:
            variables = {"input": {"phoneNumber": rng.choice(BAD_ADD_NUMBERS), "reason": "typo"}}
            expected = "ValidationError(phoneNumber)"
        reply = await self.world.api.call(
            "removeFromDnc:invalid", self.user.token, REMOVE, variables
        )
        self.judge("removeFromDnc:invalid", reply, "removeFromDnc", [expected])
