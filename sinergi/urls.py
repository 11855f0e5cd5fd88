from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from activities import api as activities_api
from core import views as core_views
from institutions import api as institutions_api
from org import api as org_api
from org.views import auth as auth_views_local
from performance import api as performance_api
from sales import api as sales_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("org-units", org_api.OrgUnitViewSet, basename="org-unit")
router.register("institutions", institutions_api.InstitutionViewSet, basename="institution")
router.register("activities", activities_api.ActivityViewSet, basename="activity")
router.register("events", activities_api.EventViewSet, basename="event")
router.register("maintenance-plans", activities_api.MaintenancePlanViewSet, basename="maintenance-plan")
router.register("leads", activities_api.LeadViewSet, basename="lead")
router.register("closings", sales_api.ClosingViewSet, basename="closing")
router.register("agents", sales_api.IndividualAgentViewSet, basename="agent")
router.register("corporate-agents", sales_api.CorporateAgentViewSet, basename="corporate-agent")
router.register("fleet-schemes", sales_api.FleetSchemeViewSet, basename="fleet-scheme")
router.register("point-rewards", sales_api.PointRewardViewSet, basename="point-reward")
router.register("pmp-facilities", sales_api.PmpFacilityViewSet, basename="pmp-facility")
router.register("targets", performance_api.TargetViewSet, basename="target")
router.register("placements", performance_api.PlacementViewSet, basename="placement")
router.register("tasks", performance_api.TaskViewSet, basename="task")
router.register("evaluations", performance_api.EvaluationViewSet, basename="evaluation")

api_v1 = [
    path("auth/token/", org_api.TokenView.as_view(), name="api-token"),
    path("me/", org_api.MeView.as_view(), name="api-me"),
    # Before the router: "batch" is not a closing id. Core systems call it with or without the slash.
    path("closings/batch/", sales_api.ClosingBatchView.as_view(), name="closing-batch"),
    path("closings/batch", sales_api.ClosingBatchNoSlashView.as_view(), name="closing-batch-noslash"),
    path("achievement/", performance_api.AchievementView.as_view(), name="achievement"),
    *router.urls,
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("akun/masuk/", auth_views_local.LoginView.as_view(), name="login"),
    path("akun/keluar/", auth_views.LogoutView.as_view(), name="logout"),
    path("akun/sandi/", auth_views_local.password_change, name="password-change"),
    path("akun/peran/", auth_views_local.switch_role, name="switch-role"),
    path("akun/bahasa/", auth_views_local.set_language, name="set-language"),
    path("unit/", include("org.urls")),
    path("kontrol/", include("control.urls")),
    path("lembaga/", include("institutions.urls")),
    path("aktivitas/", include("activities.urls")),
    path("penjualan/", include("sales.urls")),
    path("kinerja/", include("performance.urls")),
    path("notifikasi/", core_views.notifications, name="notifications"),
    path("notifikasi/<int:pk>/baca/", core_views.notification_read, name="notification-read"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
