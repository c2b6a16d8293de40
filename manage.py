#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    # Operators' commands (migrate, seed_demo, create_tenant, createsuperuser, shell…) connect as the owner of the
    # tables; the development server serves the CRM as the web server does, as the app role (crm/rls.py).
    os.environ.setdefault("DATABASE_ROLE", "app" if sys.argv[1:2] == ["runserver"] else "owner")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
