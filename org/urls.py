from django.urls import path

from org.views import units

app_name = "org"

urlpatterns = [
    path("", units.unit_tree, name="unit-tree"),
    path("<int:pk>/", units.unit_detail, name="unit-detail"),
    path("<int:pk>/anak/", units.unit_children, name="unit-children"),
    path("<int:pk>/pindah/", units.unit_move, name="unit-move"),
]
