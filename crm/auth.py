def axes_username(request, credentials: dict | None) -> str | None:
    """The login email, normalized, as django-axes' lockout key (together with the IP address)."""
    value = (credentials or {}).get("username") or (request.POST.get("username") if request is not None else None)
    return value.strip().lower() if value else None
