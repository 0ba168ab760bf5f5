from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts.roles import Role


class User(AbstractUser):
    """An operator of the backup server.

    A custom model from the first migration, so roles, tenant scopes and a local break-glass login can
    grow here without a user-table migration later.
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = "user"
        verbose_name_plural = "users"


class RoleAssignment(models.Model):
    """One role given to one user, for every tenant or only for the tenants listed (accounts/access.py).

    An assignment limited to tenants whose tenants were all removed grants nothing on tenants: it never
    widens to every tenant by itself.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(max_length=20, choices=Role.choices)
    all_tenants = models.BooleanField(default=True, help_text="Untick to limit this role to the tenants below")
    tenants = models.ManyToManyField("tenants.Tenant", blank=True, related_name="role_assignments")

    class Meta:
        ordering = ["user__username", "role"]
        constraints = [models.UniqueConstraint("user", "role", name="roleassignment_one_per_user_and_role")]

    def __str__(self) -> str:
        scope = "all tenants" if self.all_tenants else "some tenants"
        return f"{self.get_role_display()} ({scope})"
