from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from org.models import ALLOWED_PARENT_KINDS, OrgUnit


class UnitMoveForm(forms.Form):
    new_parent = forms.ModelChoiceField(queryset=OrgUnit.objects.none(), label=_("Induk baru"))

    def __init__(self, *args: Any, unit: OrgUnit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = ALLOWED_PARENT_KINDS.get(unit.kind, set())
        self.fields["new_parent"].queryset = (  # type: ignore[attr-defined]
            OrgUnit.objects.filter(kind__in=allowed).exclude(pk=unit.parent_id or 0).order_by("path")
        )


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Nama pengguna atau kata sandi salah. Perhatikan huruf besar/kecil."),
        "inactive": _("Akun ini tidak aktif. Hubungi admin."),
    }
