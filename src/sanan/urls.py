from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from sanan.accounts import views as accounts_views
from sanan.accounts.api import MeApi, TokenObtainApi, UserPhoneRevealApi, UserResetLinkApi
from sanan.audit.api import AuditEventViewSet
from sanan.core import views as core_views
from sanan.places.api import PlaceViewSet

router = DefaultRouter()
router.register("places", PlaceViewSet, basename="place")
router.register("audit/events", AuditEventViewSet, basename="audit-event")

api_v1 = [
    path("me/", MeApi.as_view(), name="me"),
    path("users/<int:pk>/reveal-phone/", UserPhoneRevealApi.as_view(), name="user-reveal-phone"),
    path("users/<int:pk>/reset-link/", UserResetLinkApi.as_view(), name="user-reset-link"),
    path("auth/token/", TokenObtainApi.as_view(), name="token"),
    *router.urls,
    path("", include("sanan.registry.api_urls")),
    path("", include("sanan.workorders.api_urls")),
    path("", include("sanan.notifications.api_urls")),
    path("", include("sanan.organisation.api_urls")),
    path("", include("sanan.hotline.api_urls")),
    path("", include("sanan.triage.api_urls")),
    path("", include("sanan.campaigns.api_urls")),
    path("", include("sanan.dualreport.api_urls")),
    path("", include("sanan.insights.api_urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/", core_views.healthz),
    path("accounts/", include("sanan.accounts.urls")),
    path("places/", include("sanan.places.urls")),
    path("audit/", include("sanan.audit.urls")),
    path("registry/", include("sanan.registry.urls")),
    path("orders/", include("sanan.workorders.urls")),
    path("inbox/", include("sanan.notifications.urls")),
    path("org/", include("sanan.organisation.urls")),
    path("open311/", include("sanan.open311.urls")),
    path("hotline/", include("sanan.hotline.urls")),
    path("triage/", include("sanan.triage.urls")),
    path("campaigns/", include("sanan.campaigns.urls")),
    path("dual/", include("sanan.dualreport.urls")),
    path("dashboard/", include("sanan.dashboard.urls")),
    path("public/", include("sanan.dashboard.public_urls")),
    path("insights/", include("sanan.insights.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # the admin site signs in through Sanan's sign-in page (two-step sign-in, lockout)
    path("admin/login/", accounts_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "sanan.core.views.not_found"
handler500 = "sanan.core.views.server_error"
