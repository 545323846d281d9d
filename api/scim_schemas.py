"""What SCIM's discovery endpoints publish (RFC 7643 sections 5-7): the service's features, the
two resource types and the attributes PartnerHub keeps. Attributes an identity provider sends
beyond these (title, department, the enterprise extension) are accepted and ignored."""

from __future__ import annotations

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

MAX_RESULTS = 200


def attribute(
    name: str,
    type_: str = "string",
    *,
    required: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    multi: bool = False,
    sub: list[dict] | None = None,
    description: str = "",
    case_exact: bool = False,
) -> dict:
    spec = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description or name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        spec["subAttributes"] = sub
    if type_ == "reference":
        spec["referenceTypes"] = ["User", "Group"]
    return spec


USER_ATTRIBUTES = [
    attribute(
        "userName",
        required=True,
        uniqueness="server",
        description="The user's email: their sign-in name, unique across PartnerHub.",
    ),
    attribute(
        "name",
        "complex",
        required=True,
        sub=[
            attribute("givenName", required=True, description="First name."),
            attribute("familyName", required=True, description="Last name."),
        ],
        description="The user's name.",
    ),
    attribute("displayName", mutability="readOnly", description="The full name."),
    # Read only: a user has one email, their userName. A PATCH of emails[type eq "work"].value
    # (Entra's default mapping) is taken as a change of userName.
    attribute(
        "emails",
        "complex",
        multi=True,
        mutability="readOnly",
        sub=[
            attribute("value", mutability="readOnly", description="The email: the userName."),
            attribute("type", mutability="readOnly", description="work"),
            attribute("primary", "boolean", mutability="readOnly", description="true"),
        ],
        description="The user's email, the same as userName.",
    ),
    # Required, so that nobody "removes" it: a user is active or deactivated. A POST without it
    # is taken as active, as identity providers mean.
    attribute(
        "active", "boolean", required=True, description="false deactivates the user (a leaver)."
    ),
    attribute(
        "groups",
        "complex",
        multi=True,
        mutability="readOnly",
        sub=[
            attribute("value", mutability="readOnly", description="The role's key."),
            attribute("display", mutability="readOnly", description="The role's name."),
            attribute("$ref", "reference", mutability="readOnly", description="The group."),
        ],
        description="The roles the user holds; change them through the Groups.",
    ),
]

GROUP_ATTRIBUTES = [
    attribute(
        "displayName",
        required=True,
        mutability="readOnly",
        uniqueness="server",
        description="The role's name.",
    ),
    attribute(
        "members",
        "complex",
        multi=True,
        sub=[
            attribute("value", mutability="immutable", description="A user's id."),
            attribute("display", mutability="readOnly", description="The user's email."),
            attribute("$ref", "reference", mutability="immutable", description="The user."),
        ],
        description="The users who hold the role.",
    ),
]


def schemas(base: str) -> list[dict]:
    return [
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": USER_SCHEMA,
            "name": "User",
            "description": "A partner user of the organization.",
            "attributes": USER_ATTRIBUTES,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{USER_SCHEMA}"},
        },
        {
            "schemas": [SCHEMA_SCHEMA],
            "id": GROUP_SCHEMA,
            "name": "Group",
            "description": "A role of the organization; its members hold it.",
            "attributes": GROUP_ATTRIBUTES,
            "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{GROUP_SCHEMA}"},
        },
    ]


def resource_types(base: str) -> list[dict]:
    return [
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Partner users",
            "schema": USER_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Roles",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


def service_provider_config(base: str) -> dict:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": f"{base.rsplit('/scim/', 1)[0]}/api/v1/docs/",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "API client token",
                "description": "The token of an API client, created in Settings > API clients: "
                "Authorization: Bearer phc_...",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
