from django.urls import path

from activities.views import board, leads, maintenance, work

app_name = "activities"

urlpatterns = [
    # The ME's day and their records (activities/views/work.py)
    path("hari-ini/", work.today, name="today"),
    path("catat/", work.activity_log, name="log"),
    path("pilih-lembaga/", work.institution_lookup, name="institution-lookup"),
    path("<int:pk>/", work.activity_detail, name="detail"),
    path("<int:pk>/ubah/", work.activity_edit, name="edit"),
    path("<int:pk>/bukti/", work.evidence_add, name="evidence-add"),
    path("<int:pk>/bukti/<int:eid>/", work.evidence_file, name="evidence-file"),
    # Calendars, the branch's day and pipeline board (activities/views/board.py)
    path("kalender/", board.calendar, name="calendar"),
    path("cabang/<int:unit_pk>/harian/", board.branch_day, name="branch-day"),
    path("cabang/<int:unit_pk>/pipeline/", board.pipeline, name="pipeline"),
    path("lembaga/<int:pk>/tahap/", board.stage_move, name="stage-move"),
    # Events and leads (activities/views/leads.py)
    path("acara/", leads.event_list, name="events"),
    path("prospek/", leads.lead_list, name="leads"),
    path("prospek/baru/", leads.lead_create, name="lead-create"),
    path("prospek/konversi/", leads.conversion, name="conversion"),
    path("prospek/<int:pk>/", leads.lead_detail, name="lead-detail"),
    path("prospek/<int:pk>/serahkan/", leads.lead_assign, name="lead-assign"),
    path("prospek/<int:pk>/status/", leads.lead_status, name="lead-status"),
    path("prospek/<int:pk>/hapus/", leads.lead_erase, name="lead-erase"),
    path("prospek/<int:pk>/batasi/", leads.lead_restrict, name="lead-restrict"),
    # Maintenance plans (activities/views/maintenance.py)
    path("maintenance/", maintenance.plan_list, name="plans"),
    path("maintenance/baru/", maintenance.plan_create, name="plan-create"),
    path("maintenance/<int:pk>/", maintenance.plan_detail, name="plan-detail"),
    path("maintenance/<int:pk>/akhiri/", maintenance.plan_end, name="plan-end"),
    path("maintenance/<int:pk>/alihkan/", maintenance.plan_reassign, name="plan-reassign"),
]
