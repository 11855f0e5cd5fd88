"""Responses of the activities API (see the package docstring)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    extend_schema_field,
)
from rest_framework import serializers

from activities import privacy, schedule
from activities.models import (
    Activity,
    Evidence,
    Lead,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
    VisitStatus,
)
from institutions.api import BranchRefSerializer, CodeField, PersonRefSerializer
from org.access import (
    lead_reads_as_owner,
)


class InstitutionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ParticipantSerializer(serializers.ModelSerializer):
    """A colleague in an activity (the branch head, the sales team supporting an event)."""

    serializer_choice_field = CodeField

    id = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = Participant
        fields = ["id", "name", "role", "role_label"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, p: Participant) -> str:
        return p.user.get_full_name() or p.user.get_username()


class EvidenceSerializer(serializers.ModelSerializer):
    """An evidence file: ``url`` is the page that serves it after the scope check
    (never a public media address)."""

    name = serializers.CharField(source="original_name")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "name", "content_type", "size", "sha256", "url", "created_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, ev: Evidence) -> str:
        return reverse("activities:evidence-file", args=[ev.activity_id, ev.pk])


class ActivitySerializer(serializers.ModelSerializer):
    """An activity as every endpoint returns it. Reads only what ``_activity_rows``
    joins and prefetches. The contact met is given by id only: a contact's
    personal data is read through the institution's contacts endpoint, which logs it."""

    serializer_choice_field = CodeField

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    is_event = serializers.BooleanField(read_only=True)
    me = PersonRefSerializer(read_only=True)
    institution = InstitutionRefSerializer(read_only=True, allow_null=True)
    branch = BranchRefSerializer(read_only=True)
    contact: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    visit: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    participants = ParticipantSerializer(source="participant_rows", many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    products = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "client_id",
            "kind",
            "kind_label",
            "status",
            "status_label",
            "is_event",
            "starts_at",
            "ends_at",
            "day",
            "place",
            "title",
            "me",
            "institution",
            "branch",
            "contact",
            "participants",
            "outcome",
            "next_step",
            "next_step_date",
            "attendance",
            "products",
            "checkin_latitude",
            "checkin_longitude",
            "checkin_accuracy_m",
            "checkin_at",
            "checkin_distance_km",
            "checkin_far",
            "visit",
            "evidence",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EventSerializer(ActivitySerializer):
    """An event (sosialisasi, literasi, open booth): its products, attendance and
    the sales team supporting it (``participants``), with the leads it collected."""

    lead_count = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("Prospek yang dikumpulkan di acara ini.")
    )
    won_count = serializers.IntegerField(read_only=True, help_text=gettext_lazy("Prospek yang sudah closing."))

    class Meta(ActivitySerializer.Meta):
        fields = [*ActivitySerializer.Meta.fields, "lead_count", "won_count"]
        read_only_fields = fields


class VisitSerializer(serializers.ModelSerializer):
    """A planned visit of a plan; ``is_overdue`` is computed for today (Asia/Jakarta)."""

    serializer_choice_field = CodeField

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = MaintenanceVisit
        fields = ["id", "due_on", "overdue_on", "status", "status_label", "done_on", "is_overdue"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_is_overdue(self, v: MaintenanceVisit) -> bool:
        today = self.context.get("today") or timezone.localdate()
        return schedule.is_overdue(v.due_on, v.plan.grace_days, today, done=v.status != VisitStatus.PLANNED)


class PlanSerializer(serializers.ModelSerializer):
    """A maintenance plan with its visits (all of them, oldest first)."""

    serializer_choice_field = CodeField
    frequency_label = serializers.CharField(source="get_frequency_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    institution = InstitutionRefSerializer(read_only=True)
    me = PersonRefSerializer(read_only=True)
    branch = BranchRefSerializer(read_only=True)
    overdue_count = serializers.IntegerField(read_only=True)
    done_count = serializers.IntegerField(read_only=True)
    visits = VisitSerializer(many=True, read_only=True)

    class Meta:
        model = MaintenancePlan
        fields = [
            "id",
            "institution",
            "me",
            "branch",
            "frequency",
            "frequency_label",
            "starts_on",
            "ends_on",
            "grace_days",
            "status",
            "status_label",
            "notes",
            "overdue_count",
            "done_count",
            "visits",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LeadSerializer(serializers.ModelSerializer):
    """A lead. Phone and e-mail are personal data (UU PDP): in full only to who
    works in the lead's own branch, masked for everyone else (``masked``), and
    null once the person restricted their processing or was erased."""

    serializer_choice_field = CodeField

    product_label = serializers.CharField(source="get_product_display", read_only=True)
    lawful_basis_label = serializers.CharField(source="get_lawful_basis_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    institution = InstitutionRefSerializer(read_only=True)
    branch = BranchRefSerializer(read_only=True)
    me = PersonRefSerializer(read_only=True)
    assigned_to = PersonRefSerializer(read_only=True, allow_null=True)
    source_activity: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    email = serializers.SerializerMethodField()
    notes = serializers.SerializerMethodField()
    masked = serializers.SerializerMethodField()
    is_open = serializers.BooleanField(read_only=True)
    restricted = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "client_id",
            "institution",
            "branch",
            "source_activity",
            "me",
            "name",
            "phone",
            "email",
            "masked",
            "restricted",
            "product",
            "product_label",
            "purpose",
            "lawful_basis",
            "lawful_basis_label",
            "notes",
            "status",
            "status_label",
            "is_open",
            "status_changed_at",
            "assigned_to",
            "assigned_at",
            "due_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _owner(self, lead: Lead) -> bool:
        return lead_reads_as_owner(self.context["request"].user, lead)

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, lead: Lead) -> str:
        return privacy.lead_name(self.context["request"].user, lead)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_phone(self, lead: Lead) -> str | None:
        return privacy.lead_phone(self.context["request"].user, lead)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_email(self, lead: Lead) -> str | None:
        return privacy.lead_email(self.context["request"].user, lead)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_notes(self, lead: Lead) -> str | None:
        return privacy.lead_notes(self.context["request"].user, lead)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_masked(self, lead: Lead) -> bool:
        return not lead.personal_data_hidden and not self._owner(lead)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_restricted(self, lead: Lead) -> bool:
        return lead.restricted_at is not None
