"""REST endpoints of the org module: token, me, org units."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from org import selectors, services
from org.access import active_assignment, active_assignments, get_unit_for_user
from org.models import OrgUnit, RoleAssignment, UnitKind


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenView(APIView):
    """Exchange username + password for an API token (lockout applies)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            # A locked-out username is answered by the axes middleware (429).
            return Response(
                {"detail": _("Nama pengguna atau kata sandi salah."), "code": "invalid_credentials"}, status=400
            )
        token = services.api_token_issue(user=user)  # type: ignore[arg-type]
        return Response({"token": token.key})


class UnitBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["id", "code", "name", "kind", "path"]


class AssignmentSerializer(serializers.ModelSerializer):
    unit = UnitBriefSerializer()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = RoleAssignment
        fields = ["id", "role", "role_label", "unit", "valid_from", "valid_to"]


class MeView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "id": serializers.IntegerField(),
                "username": serializers.CharField(),
                "full_name": serializers.CharField(),
                "language": serializers.CharField(),
                "active_role": AssignmentSerializer(allow_null=True),
                "roles": AssignmentSerializer(many=True),
            },
        )
    )
    def get(self, request: Request) -> Response:
        user = request.user
        active = active_assignment(user)
        return Response(
            {
                "id": user.pk,
                "username": user.get_username(),
                "full_name": user.get_full_name(),  # type: ignore[union-attr]
                "language": user.language,  # type: ignore[union-attr]
                "active_role": AssignmentSerializer(active).data if active else None,
                "roles": AssignmentSerializer(active_assignments(user), many=True).data,
            }
        )


class OrgUnitSerializer(serializers.ModelSerializer):
    parent: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = OrgUnit
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "kind_label",
            "parent",
            "parent_code",
            "path",
            "depth",
            "city",
            "is_active",
        ]


@extend_schema(
    parameters=[
        OpenApiParameter("kind", str, enum=UnitKind.values, description="Filter by unit kind."),
        OpenApiParameter("parent", int, description="Only the direct children of this unit id."),
    ]
)
class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet):
    """Org units in the caller's scope."""

    serializer_class = OrgUnitSerializer

    def get_queryset(self) -> Any:
        params = self.request.query_params
        kind = params.get("kind") or None
        parent = params.get("parent") or None
        errors: dict[str, list[str]] = {}
        if kind and kind not in UnitKind.values:
            errors["kind"] = [
                _("Jenis unit tidak dikenal. Pilihan: %(kinds)s.") % {"kinds": ", ".join(UnitKind.values)}
            ]
        if parent and not parent.isdigit():
            errors["parent"] = [_("Id induk harus berupa angka.")]
        if errors:
            raise ValidationError(errors)
        return selectors.org_units_for_api(self.request.user, kind=kind, parent=int(parent) if parent else None)

    def get_object(self) -> OrgUnit:
        return get_unit_for_user(self.request.user, self.kwargs["pk"])
