from django.core.management.base import CommandError

from audittrail import chain
from entrabackup.management.base import ProductCommand


class Command(ProductCommand):
    help = ("Check the audit trail's hash chain: every entry unchanged, none removed or slipped in. Prints the "
            "chain head; keep it somewhere else, and a later rewrite of the whole chain shows too (--head).")

    def add_arguments(self, parser):
        parser.add_argument("--head", metavar="ID:HASH",
                            help="A head printed earlier: the chain must still hold that entry with that hash")

    def handle(self, *args, head=None, **options):
        report = chain.verify()
        problems = list(report.problems)
        if head:
            problems += _check_kept_head(head)
        for entry_id, text in problems:
            self.stderr.write(f"#{entry_id}: {text}" if entry_id else text)
        if report.more_problems:
            self.stderr.write(f"... and {report.more_problems} more.")
        self.stdout.write(f"Checked {report.checked} entries. Head: {report.head_id}:{report.head_hash}")
        if problems:
            count = len(problems) + report.more_problems
            raise CommandError(f"The audit trail was tampered with: {count} problem{'s' if count != 1 else ''} "
                               "(listed above).")
        self.stdout.write("The audit trail is intact.")


def _check_kept_head(head: str) -> list[tuple[None, str]]:
    entry_id, _, expected = head.partition(":")
    if not entry_id.isdigit() or len(expected) != 64:
        raise CommandError("--head is ID:HASH as printed by audit_trail_verify (a number, a colon, 64 hex digits).")
    found = chain.hash_of(int(entry_id))
    if found != expected.lower():
        return [(None, f"entry {entry_id} is not the entry of the head kept earlier (the chain was rewritten "
                       "or cut)")]
    return []
