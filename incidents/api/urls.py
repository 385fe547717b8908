from rest_framework.routers import DefaultRouter

from incidents.api.views import IncidentViewSet, InstitutionViewSet, LocationViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("institutions", InstitutionViewSet)
router.register("locations", LocationViewSet)
router.register("incidents", IncidentViewSet)

urlpatterns = router.urls
