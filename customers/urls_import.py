"""Import pages (included into the customers namespace by customers/urls.py)."""

urlpatterns: list = []
