"""National clouds and custom (emulated or proxied) clouds.

Endpoints: https://learn.microsoft.com/graph/deployments
Authority hosts: https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

# The hosts msal itself knows (msal/authority.py WELL_KNOWN_AUTHORITY_HOSTS); for any other host we must
# switch off instance discovery or msal calls login.microsoftonline.com first.
MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)


@dataclass(frozen=True)
class Cloud:
    """Where to get tokens and where Graph lives; ``ca_bundle`` is a PEM file to trust instead of the system."""

    name: str
    authority_host: str  # "https://login.microsoftonline.com" (no tenant, no trailing slash)
    graph_url: str  # "https://graph.microsoft.com" (no version, no trailing slash)
    ca_bundle: str | None = None
    # The resource the token is for, when it differs from where Graph is reached (emulator, reverse proxy).
    graph_resource: str | None = None

    def __post_init__(self) -> None:
        for label, url in (("authority", self.authority_host), ("graph", self.graph_url)):
            parts = urlsplit(url)
            # msal refuses http authorities, and a bearer token must never travel in clear text.
            if parts.scheme != "https" or not parts.hostname:
                raise ValueError(f"The {label} URL must be an https URL with a host name: {url!r}")
        object.__setattr__(self, "authority_host", self.authority_host.rstrip("/"))
        object.__setattr__(self, "graph_url", self.graph_url.rstrip("/"))

    @property
    def scope(self) -> str:
        """The client-credentials scope of Graph in this cloud."""
        return f"{(self.graph_resource or self.graph_url).rstrip('/')}/.default"

    @property
    def is_microsoft_authority(self) -> bool:
        return (urlsplit(self.authority_host).hostname or "").lower() in MICROSOFT_AUTHORITY_HOSTS

    def authority(self, tenant_id: str) -> str:
        return f"{self.authority_host}/{tenant_id}"


CLOUDS: dict[str, Cloud] = {
    "global": Cloud("global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": Cloud("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov-dod": Cloud("usgov-dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": Cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}


def custom_cloud(
    authority_url: str,
    graph_url: str,
    ca_bundle: str | None = None,
    name: str = "custom",
    *,
    graph_resource: str | None = "https://graph.microsoft.com",
) -> Cloud:
    """The global cloud reached at other URLs, e.g. the Graph emulator: ``custom_cloud(emu.url, emu.url, emu.ca_path)``.

    Tokens are still requested for ``graph_resource`` (Microsoft Graph's resource id, as the identity platform
    knows it); pass ``graph_resource=None`` to ask for ``{graph_url}/.default`` instead.
    """
    return Cloud(name, authority_url, graph_url, ca_bundle, graph_resource)


def get_cloud(name: str) -> Cloud:
    try:
        return CLOUDS[name]
    except KeyError:
        raise ValueError(f"Unknown cloud {name!r}; choose one of {', '.join(CLOUDS)}") from None
