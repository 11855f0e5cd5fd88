"""How a lead's person shows (UU PDP): in full to who works in the lead's own
branch, masked to every other reader, not at all once restricted, erased or
anonymised. Pages, the API and the templates all ask here."""

from __future__ import annotations

from typing import Any

from org.access import lead_reads_as_owner


def mask_phone(value: str) -> str:
    """Enough to tell two numbers apart, not enough to call: the last 2 digits."""
    digits = "".join(c for c in value if c.isdigit())
    return ("•" * 6 + digits[-2:]) if digits else ""


def mask_email(value: str) -> str:
    """The first letter and the domain: b•••@contoh.co.id."""
    if "@" not in value:
        return ""
    local, domain = value.split("@", 1)
    return f"{local[:1]}•••@{domain}"


def mask_name(value: str) -> str:
    """Initials only: "Siti Rahmawati" → "S. R."."""
    return " ".join(f"{part[0]}." for part in value.split() if part) or "—"


def shows_person(user: Any, lead: Any) -> bool:
    return lead_reads_as_owner(user, lead) and not lead.personal_data_hidden


def lead_name(user: Any, lead: Any) -> str:
    if lead.erased_at or lead.anonymised_at:
        return str(lead.name)  # already the placeholder, no person left
    return str(lead.name) if lead_reads_as_owner(user, lead) and not lead.restricted_at else mask_name(lead.name)


def lead_notes(user: Any, lead: Any) -> str | None:
    """Free text may name or reach the person: only for who sees the person."""
    return lead.notes if shows_person(user, lead) else None


def lead_phone(user: Any, lead: Any) -> str | None:
    if lead.personal_data_hidden:
        return None
    return lead.phone if lead_reads_as_owner(user, lead) else mask_phone(lead.phone)


def lead_email(user: Any, lead: Any) -> str | None:
    if lead.personal_data_hidden:
        return None
    return lead.email if lead_reads_as_owner(user, lead) else mask_email(lead.email)
