"""Create the PostgreSQL database named in DATABASE_URL if it does not exist yet, as its owner (DATABASE_URL's role).

The app role (DATABASE_APP_URL) is made by `migrate`, which creates it if missing and grants it what it needs
(crm/rls.py), on this database and on the test database alike."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import psycopg2  # noqa: E402
from django.conf import settings  # noqa: E402
from psycopg2 import sql  # noqa: E402


def main() -> None:
    db = settings.DATABASE_OWNER
    params = {"host": db.get("HOST") or None, "port": db.get("PORT") or None, "user": db.get("USER") or None}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
            print(f"Created database {db['NAME']}")
    conn.close()


if __name__ == "__main__":
    main()
