from typing import Any

from django import template

from activities import privacy

register = template.Library()


@register.filter
def lead_name(lead: Any, user: Any) -> str:
    """``{{ lead|lead_name:user }}``: the name for the branch that owns the lead, initials for other readers."""
    return privacy.lead_name(user, lead)
