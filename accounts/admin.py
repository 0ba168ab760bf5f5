from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group

from accounts.models import RoleAssignment, User

# Roles are the only way permissions are given (docs/access.md): Django's groups would be a second one,
# unscoped by tenant.
admin.site.unregister(Group)


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    filter_horizontal = ["tenants"]


@admin.register(User)
class OperatorAdmin(UserAdmin):
    """Users and their roles (docs/access.md). Roles are the only way permissions are given: Django's
    groups and direct permissions are not offered here, and only a superuser can make another one."""

    inlines = [RoleAssignmentInline]
    list_display = ["username", "email", "is_active", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_superuser", "role_assignments__role"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name", "email"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined"]
        return readonly if request.user.is_superuser else [*readonly, "is_superuser"]

    def has_change_permission(self, request, obj=None):
        # The local administrator's password is its owner's alone: no role reaches a superuser.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)
