#!/usr/bin/env python
"""Django's command-line utility for the backup server and the backup proxies."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entrabackup.settings")
    if len(sys.argv) > 1 and sys.argv[1] == "localdb":
        # `localdb stop|status` must not start the server just by loading the settings.
        os.environ.setdefault("ENTRABACKUP_LOCALDB_AUTOSTART", "0")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
