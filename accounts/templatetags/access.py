"""`{% may "jobs.run_backup" job as can_run %}`: whether the user holds a permission on that object's tenant.

Templates only hide controls (the views check again); `perms.app.codename` says "on some tenant", this says
"on this one".
"""

from django import template

from accounts import access

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context, perm: str, obj=None) -> bool:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return bool(user is not None and user.has_perm(perm, obj))


@register.filter
def first_line(text: str) -> str:
    """The first line of `text`: a shared repository's check summary without its problem lines, which name
    chunks under each tenant's folder (docs/access.md, shared repositories)."""
    return (text or "").split("\n", 1)[0]


@register.simple_tag(takes_context=True)
def sees_every_tenant(context) -> bool:
    """`{% sees_every_tenant as details %}`: whether the user sees every tenant (accounts.access)."""
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return bool(user is not None and access.sees_every_tenant(user))
