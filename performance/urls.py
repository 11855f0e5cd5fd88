from django.urls import path

from performance.views import dashboards, placement, targets, tasks

app_name = "performance"

urlpatterns = [
    # Dashboards and scorecards (performance/views/dashboards.py)
    path("", dashboards.home, name="home"),
    path("unit/<int:unit_pk>/", dashboards.unit_dashboard, name="unit"),
    path("unit/<int:unit_pk>/xlsx/", dashboards.unit_dashboard_xlsx, name="unit-xlsx"),
    path("me/<int:user_pk>/", dashboards.me_scorecard, name="me"),
    path("me/<int:user_pk>/evaluasi/", dashboards.me_evaluate, name="me-evaluate"),
    # KPIs and targets (performance/views/targets.py)
    path("kpi/", targets.kpi_list, name="kpis"),
    path("target/", targets.target_home, name="targets"),
    path("target/<int:unit_pk>/", targets.target_edit, name="target-edit"),
    path("target/ekspor/", targets.target_export, name="target-export"),
    path("target/impor/", targets.target_import, name="target-import"),
    # ME tasks (performance/views/tasks.py)
    path("tugas/", tasks.task_list, name="tasks"),
    path("tugas/baru/", tasks.task_create, name="task-create"),
    path("tugas/<int:pk>/", tasks.task_detail, name="task"),
    # ME placement (performance/views/placement.py)
    path("penempatan/<int:area_pk>/", placement.placement_page, name="placement"),
    path("penempatan/<int:area_pk>/terapkan/", placement.placement_apply, name="placement-apply"),
]
