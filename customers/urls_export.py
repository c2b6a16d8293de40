"""Export, recycle-bin and merge pages (included into the customers namespace by customers/urls.py)."""

urlpatterns: list = []
