"""The project's database backend: Django's PostgreSQL backend, every statement carrying the tenant context."""
