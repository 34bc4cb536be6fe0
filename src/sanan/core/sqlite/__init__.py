"""SQLite as Sanan's embedded database: Django's backend with a queue for writers
(``base.DatabaseWrapper``)."""
