"""Reads of a company's settings that other apps print: the logo as a data: URI for the PDFs."""

from __future__ import annotations

import base64

from crm.models import Tenant
from crm.services.tenant import LOGO_MAX_BYTES, logo_content_type


def logo_data_uri(tenant: Tenant) -> str:
    """The company's logo as a data: URI (what WeasyPrint embeds without fetching anything), or "" when it has
    none or its file is missing or not a PNG or JPEG."""
    if not tenant.logo:
        return ""
    try:
        with tenant.logo.storage.open(tenant.logo.name, "rb") as file:
            content = file.read(LOGO_MAX_BYTES + 1)
    except OSError:
        return ""
    kind = logo_content_type(content[:8])
    if kind is None or len(content) > LOGO_MAX_BYTES:
        return ""
    return f"data:{kind};base64,{base64.b64encode(content).decode('ascii')}"
