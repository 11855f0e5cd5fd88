from django.urls import path

from sales.views import closings, registries

app_name = "sales"

urlpatterns = [
    # Closings, uploads and attribution (sales/views/closings.py)
    path("", closings.closing_list, name="closings"),
    path("<int:pk>/", closings.closing_detail, name="closing-detail"),
    path("unggah/", closings.upload, name="upload"),
    path("unggah/templat/", closings.upload_template, name="upload-template"),
    path("batch/<int:pk>/", closings.batch_detail, name="batch"),
    path("batch/<int:pk>/laporan/", closings.batch_report, name="batch-report"),
    path("cabang/<int:unit_pk>/atribusi/", closings.attribution, name="attribution"),
    # Channel registries (sales/views/registries.py)
    path("agen/", registries.individual_agents, name="agents"),
    path("agen/baru/", registries.individual_agent_create, name="agent-create"),
    path("agen-badan-usaha/", registries.corporate_agents, name="corporate-agents"),
    path("agen-badan-usaha/baru/", registries.corporate_agent_create, name="corporate-agent-create"),
    path("fleet/", registries.fleet_schemes, name="fleet"),
    path("fleet/baru/", registries.fleet_scheme_create, name="fleet-create"),
    path("point-reward/", registries.point_rewards, name="point-reward"),
    path("point-reward/baru/", registries.point_reward_create, name="point-reward-create"),
    path("pmp/", registries.pmp_facilities, name="pmp"),
    path("pmp/baru/", registries.pmp_facility_create, name="pmp-create"),
]
