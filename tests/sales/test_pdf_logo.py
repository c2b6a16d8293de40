"""The company's logo: uploaded on Settings → Company (PNG or JPEG by their first bytes, at most 512 KB), served
only to the company's own users, and printed on the quote's and the contract's PDFs as an embedded image (no
address fetched)."""

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from crm.models import AuditEvent, Tenant
from crm.selectors.tenant import logo_data_uri
from crm.services.tenant import tenant_logo_set
from sales import pdf
from sales.services.contract import contract_create_from_quote
from sales.services.pipeline import ensure_default_pipeline

from .test_contracts import accepted_quote


def png_bytes(size=(40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_settings_upload_checks_the_first_bytes_and_the_size(world, client_for, media):
    admin = client_for(world.admin)
    form = {"name": world.tenant.name, "timezone": "Asia/Shanghai", "language": "zh-hans", "currency": "CNY"}
    form |= {"phone_region": "CN", "daily_reveal_limit": "50"}
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)></svg>", content_type="image/png")
    response = admin.post(reverse("settings:tenant"), {**form, "logo_upload": fake, "name": "改名不应保存"})
    assert response.status_code == 422 and "PNG or JPEG" in response.content.decode()
    tenant = Tenant.objects.get(pk=world.tenant.pk)
    assert not tenant.logo and tenant.name == world.tenant.name
    big = SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 600_000)
    assert "512 KB" in admin.post(reverse("settings:tenant"), {**form, "logo_upload": big}).content.decode()
    good = SimpleUploadedFile("我的 logo.PNG", png_bytes(), content_type="application/octet-stream")
    assert admin.post(reverse("settings:tenant"), {**form, "logo_upload": good}).status_code == 302
    tenant.refresh_from_db()
    assert tenant.logo.name.startswith(f"logos/{tenant.pk}/") and tenant.logo.name.endswith(".png")
    assert AuditEvent.objects.filter(action="tenant.logo", tenant=tenant).exists()
    assert 'data-testid="tenant-logo"' in admin.get(reverse("settings:tenant")).content.decode()


@pytest.mark.django_db
def test_the_logo_is_served_to_the_companys_users_only(world, world_b, client_for, media):
    tenant_logo_set(acting_user=world.admin, tenant=world.tenant, upload=SimpleUploadedFile("a.png", png_bytes()))
    response = client_for(world.rep1).get(reverse("settings:tenant_logo"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes()
    # Another company's users get their own company's logo, here none.
    assert client_for(world_b.rep1).get(reverse("settings:tenant_logo")).status_code == 404
    with pytest.raises(PermissionDenied):
        tenant_logo_set(acting_user=world.rep1, tenant=world.tenant, upload=None)


@pytest.mark.django_db
def test_removing_the_logo(world, media):
    tenant_logo_set(acting_user=world.admin, tenant=world.tenant, upload=SimpleUploadedFile("a.png", png_bytes()))
    tenant = tenant_logo_set(acting_user=world.admin, tenant=world.tenant, upload=None)
    assert not tenant.logo and logo_data_uri(tenant) == ""


@pytest.mark.django_db
def test_the_quote_and_contract_pdfs_embed_the_logo(world, client_for, media, monkeypatch):
    monkeypatch.setattr(pdf, "PDF_OPTIONS", {"uncompressed_pdf": True})
    quote = accepted_quote(world)
    contract = contract_create_from_quote(acting_user=world.rep1, quote=quote)
    rep = client_for(world.rep1)
    before = rep.get(reverse("sales:quote_pdf", args=[quote.pk])).content
    assert b"/Subtype /Image" not in before
    tenant_logo_set(acting_user=world.admin, tenant=world.tenant, upload=SimpleUploadedFile("a.png", png_bytes()))
    assert pdf.quote_html(quote.__class__.objects.get(pk=quote.pk)).count("data:image/png;base64,") == 1
    for url in (reverse("sales:quote_pdf", args=[quote.pk]), reverse("sales:contract_pdf", args=[contract.pk])):
        response = rep.get(url)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert b"/Subtype /Image" in response.content and b"/Width 40" in response.content
    disposition = rep.get(reverse("sales:contract_pdf", args=[contract.pk]))["Content-Disposition"]
    assert f'filename="{contract.number}.pdf"' in disposition


def test_the_pdf_fetches_nothing_but_data_uris():
    fetcher = pdf.local_only_fetcher()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("http://169.254.169.254/latest/meta-data")
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("file:///etc/passwd")
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"


@pytest.mark.django_db
def test_another_tenants_contract_pdf_is_404(world, world_b, client_for):
    ensure_default_pipeline(world_b.tenant)
    contract = contract_create_from_quote(acting_user=world_b.rep1, quote=accepted_quote(world_b))
    assert client_for(world.rep1).get(reverse("sales:contract_pdf", args=[contract.pk])).status_code == 404
