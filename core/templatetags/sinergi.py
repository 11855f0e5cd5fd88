"""Small template helpers shared by every app."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``{{ names|get_item:code }}``: a dict lookup by a variable key."""
    try:
        return mapping.get(key, key)
    except AttributeError:
        return ""


@register.filter
def npwp(value: Any) -> str:
    """15 stored digits shown the familiar way: 01.234.567.8-901.000."""
    from institutions.normalise import format_npwp

    return format_npwp(str(value)) if value else ""
