"""Alembic's scripts for the database schema: `env.py` and one module per revision in
`versions/`. `bot.storage.schema` runs them; README "How to add a migration" says how to add one."""
