"""Login, logout, lockout, password change, role and language switches."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from org import services
from org.forms import LoginForm


def _safe_next(request: HttpRequest, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        services.login_record(user=user, via="web")
        if user.language:
            _set_language_cookie(response, user.language)
        return response


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """Shown by django-axes once a username has too many failed logins."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _(
        "Akun ini dikunci sementara karena terlalu banyak percobaan masuk yang gagal. "
        "Coba lagi dalam %(minutes)d menit atau hubungi admin."
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    return render(request, "registration/locked.html", {"message": message}, status=429)


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_change_password(user=request.user, new_password=form.cleaned_data["new_password1"])  # type: ignore[arg-type]
        update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
        messages.success(request, _("Kata sandi Anda telah diubah."))
        return HttpResponseRedirect(reverse("home"))
    return render(request, "registration/password_change.html", {"form": form})


@login_required
@require_POST
def switch_role(request: HttpRequest) -> HttpResponse:
    try:
        assignment = services.active_role_switch(
            user=request.user,  # type: ignore[arg-type]
            assignment_id=int(request.POST.get("assignment", "0")),
        )
    except (DomainError, ValueError):
        messages.error(request, _("Peran tersebut tidak tersedia untuk Anda."))
    else:
        messages.success(request, _("Sekarang bertindak sebagai %(role)s.") % {"role": str(assignment)})
    # The old page may be outside the new scope: go home.
    return HttpResponseRedirect(reverse("home"))


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request, reverse("home")))
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("Bahasa tidak didukung."))
        return response
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=language)  # type: ignore[arg-type]
    translation.activate(language)
    _set_language_cookie(response, language)
    return response
