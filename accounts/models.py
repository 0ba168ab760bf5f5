from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """An operator of the backup server.

    A custom model from the first migration, so roles, tenant scopes and a local break-glass login can
    grow here without a user-table migration later.
    """

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = "user"
        verbose_name_plural = "users"
