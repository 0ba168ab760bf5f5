from collections import Counter

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from entrabackup import vault
from entrabackup.env import env_str
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    domain_errors = (ImproperlyConfigured,)  # a key file or variable that holds no usable key says which

    help = (
        "Manage the key that seals tenant credentials and repository passwords. "
        "status: the configured keys and how many sealed values each opens; "
        "generate: print a new key (for ENTRABACKUP_SECRETS_KEY); "
        "rotate: (key file only) add a new key, seal every value again with it, then drop the old keys; "
        "reseal: seal every value again with the first configured key (after putting a new key first in "
        "ENTRABACKUP_SECRETS_KEY; remove the old key afterwards)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "generate", "rotate", "reseal"])

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")()

    def _status(self):
        keys = vault.load_keys()
        used = Counter(vault.sealed_key_id(value) for value in _sealed_values())
        source = "ENTRABACKUP_SECRETS_KEY" if env_str("ENTRABACKUP_SECRETS_KEY") else str(vault.key_file_path())
        self.stdout.write(f"Keys from {source}:")
        for index, key in enumerate(keys):
            role = "seals new values" if index == 0 else "opens older values"
            self.stdout.write(f"  {key.key_id}  {role}; {used.pop(key.key_id, 0)} sealed values")
        for key_id, count in used.items():
            self.stderr.write(f"  {key_id}  NOT CONFIGURED: {count} sealed values cannot be opened")

    def _generate(self):
        self.stdout.write(vault.generate_key())

    def _rotate(self):
        if env_str("ENTRABACKUP_SECRETS_KEY"):
            raise CommandError(
                "The keys come from ENTRABACKUP_SECRETS_KEY: put a new key (manage.py secrets_key generate) first "
                "in that variable, keep the old one after it, run 'secrets_key reseal', then remove the old key."
            )
        path = vault.key_file_path()
        old = vault.load_keys_text(path)
        vault.write_key_file(path, [vault.generate_key(), *old])
        count = self._reseal_all()
        vault.write_key_file(path, [vault.load_keys_text(path)[0]])
        self.stdout.write(f"New key {vault.load_keys()[0].key_id} in {path}; {count} values sealed again; old keys removed.")

    def _reseal(self):
        count = self._reseal_all()
        self.stdout.write(f"{count} values sealed again with key {vault.load_keys()[0].key_id}.")

    @transaction.atomic
    @sensitive_variables("clear")
    def _reseal_all(self) -> int:
        """Open and seal again every value, with the same binding to its row and endpoint; any value that
        cannot be opened aborts the whole change."""
        count = 0
        for model, field in vault.sealed_fields():
            purpose = vault.purpose_of(model, field)
            for row in model.objects.select_for_update().exclude(**{field: ""}):
                binding = vault.binding_of(row)
                try:
                    clear = vault.unseal(getattr(row, field), purpose=purpose, binding=binding)
                except vault.VaultError as exc:
                    raise CommandError(f"{model._meta.label} {row.pk} ({row}): {exc} Nothing was changed.") from None
                setattr(row, field, vault.seal(clear, purpose=purpose, binding=binding))
                row.save(update_fields=[field])
                count += 1
        return count


def _sealed_values():
    for model, field in vault.sealed_fields():
        yield from model.objects.exclude(**{field: ""}).values_list(field, flat=True)
