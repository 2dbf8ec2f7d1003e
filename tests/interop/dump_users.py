"""Print the `users` table of a service's SQLite database as a JSON list.

Usage: python dump_users.py PATH/TO/DB.sqlite

Opened read-only, so a running service is not disturbed. Values are printed as
SQLite stores them (booleans are 0/1).
"""

import json
import sqlite3
import sys

COLUMNS = ("username", "email", "first_name", "last_name", "is_staff", "is_superuser", "is_active")

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM users ORDER BY id").fetchall()
json.dump([dict(zip(COLUMNS, row)) for row in rows], sys.stdout)
print()
