"""`{% may "jobs.run_backup" job as can_run %}`: whether the user holds a permission on that object's tenant.

Templates only hide controls (the views check again); `perms.app.codename` says "on some tenant", this says
"on this one".
"""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context, perm: str, obj=None) -> bool:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    return bool(user is not None and user.has_perm(perm, obj))
