"""Writing and verifying the audit chain.

``record()`` is called by every service inside its transaction. It locks the
chain head row, links the new event to the previous hash and moves the head, so
concurrent writers queue on that row instead of forking the chain. Bulk
operations record one event naming their rows (ids or a digest), not one per row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from control.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def to_json(value: Any) -> Any:
    """Plain JSON (dates, decimals, UUIDs as strings) so that what is stored is
    exactly what was hashed."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``obj`` as JSON (foreign keys by id)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = getattr(obj, attname)
    return to_json(out)  # type: ignore[no-any-return]


def _content(event: AuditEvent) -> str:
    payload = {
        "seq": event.seq,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "role": event.role,
        "unit_code": event.unit_code,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + _content(event)).encode()).hexdigest()


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: Any = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one event. Must run inside the writing transaction."""
    from org.access import active_assignment

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must be called inside the service's transaction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    assignment = active_assignment(actor) if actor is not None else None
    AuditChainHead.objects.get_or_create(pk=1)
    head = AuditChainHead.objects.select_for_update().get(pk=1)
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        role=assignment.role if assignment else "",
        unit_code=assignment.unit.code if assignment else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        before=to_json(before),
        after=to_json(after),
        prev_hash=head.hash,
    )
    event.hash = compute_hash(event, head.hash)
    event.save()
    head.seq = event.seq
    head.hash = event.hash
    head.save(update_fields=["seq", "hash"])
    return event


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("seq").iterator(chunk_size=5000)


def verify_chain() -> VerifyResult:
    """Walk the chain from the first event; stop at the first broken link."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last: AuditEvent | None = None
    for event in _events():
        if event.seq != expected_seq:
            return VerifyResult(False, checked, event.seq, event.pk, f"missing event(s) before seq {event.seq}")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, checked, event.seq, event.pk, "link to the previous event does not match")
        if compute_hash(event, prev_hash) != event.hash:
            return VerifyResult(False, checked, event.seq, event.pk, "content was altered (hash mismatch)")
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
        last = event
    head = AuditChainHead.objects.filter(pk=1).first()
    head_seq = head.seq if head else 0
    head_hash = head.hash if head else GENESIS
    if head_seq != (last.seq if last else 0) or head_hash != prev_hash:
        return VerifyResult(
            False, checked, head_seq, None, f"chain head says seq {head_seq}; last event found is {expected_seq - 1}"
        )
    return VerifyResult(True, checked)
