from django.urls import path

from taxonomy.api.views import TaxonomyTreeView

urlpatterns = [
    path("taxonomy/", TaxonomyTreeView.as_view(), name="taxonomy-tree"),
]
