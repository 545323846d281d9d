from django.urls import path, re_path
from django.views.decorators.common import no_append_slash
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import scim, views, web

# Settings > API clients (web pages, for Global admins)
web_urlpatterns = [
    path("settings/api-clients/", web.api_clients, name="api_clients"),
    path(
        "settings/api-clients/<uuid:client_id>/revoke/",
        web.revoke_api_client,
        name="revoke_api_client",
    ),
]

rest_urlpatterns = [
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_schema"),
        name="api_docs",
    ),
    path("api/v1/users/", views.UserList.as_view(), name="api_users"),
    path("api/v1/users/<uuid:user_id>/", views.UserDetail.as_view(), name="api_user"),
    path(
        "api/v1/users/<uuid:user_id>/deactivate/",
        views.UserDeactivate.as_view(),
        name="api_user_deactivate",
    ),
    path(
        "api/v1/users/<uuid:user_id>/reactivate/",
        views.UserReactivate.as_view(),
        name="api_user_reactivate",
    ),
    path(
        "api/v1/users/<uuid:user_id>/roles/<slug:role_key>/",
        views.UserRole.as_view(),
        name="api_user_role",
    ),
    path("api/v1/roles/", views.RoleList.as_view(), name="api_roles"),
    path("api/v1/audit-events/", views.AuditEventList.as_view(), name="api_audit_events"),
]

# SCIM addresses take no trailing slash (RFC 7644), and tolerate one.
scim_urlpatterns = [
    re_path(r"^scim/v2/Users/?$", scim.UserList.as_view(), name="scim_users"),
    re_path(r"^scim/v2/Users/\.search$", scim.UserSearch.as_view(), name="scim_users_search"),
    # A search from the root (RFC 7644 3.4.3) searches the users: the groups are the roles.
    re_path(r"^scim/v2/\.search$", scim.UserSearch.as_view(), name="scim_search"),
    re_path(r"^scim/v2/Users/(?P<user_id>[^/]+)/?$", scim.UserDetail.as_view(), name="scim_user"),
    re_path(r"^scim/v2/Groups/?$", scim.GroupList.as_view(), name="scim_groups"),
    re_path(
        r"^scim/v2/Groups/(?P<group_id>[^/]+)/?$", scim.GroupDetail.as_view(), name="scim_group"
    ),
    re_path(
        r"^scim/v2/ServiceProviderConfig/?$",
        scim.ServiceProviderConfigView.as_view(),
        name="scim_service_provider_config",
    ),
    re_path(
        r"^scim/v2/ResourceTypes/?$", scim.ResourceTypeList.as_view(), name="scim_resource_types"
    ),
    re_path(
        r"^scim/v2/ResourceTypes/(?P<name>[^/]+)/?$",
        scim.ResourceTypeDetail.as_view(),
        name="scim_resource_type",
    ),
    re_path(r"^scim/v2/Schemas/?$", scim.SchemaList.as_view(), name="scim_schemas"),
    re_path(
        r"^scim/v2/Schemas/(?P<schema_id>[^/]+)/?$",
        scim.SchemaDetail.as_view(),
        name="scim_schema",
    ),
]

# An address without its slash is a JSON 404, not Django's redirect (which a client would
# follow with a GET, or which fails a POST outright with debug on).
for pattern in rest_urlpatterns:
    pattern.callback = no_append_slash(pattern.callback)

urlpatterns = web_urlpatterns + rest_urlpatterns + scim_urlpatterns
