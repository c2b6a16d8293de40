"""Export of the ticket list: desk managers and admins only, the list's filters over the tickets they may see, the
contact's data masked outside one's own customers, Excel-safe cells and custom-field columns, audited."""

import csv
import io

import pytest
from django.urls import reverse

from crm.api.services.custom_field import custom_field_save
from crm.models import AuditEvent
from service.models import Ticket

from .helpers import make_customer, make_ticket

EXPORT = reverse("service:ticket_export")


def read_csv(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.mark.django_db
def test_ticket_export(world_a, world_b, client_for):
    world_a.admin.language = "en"
    world_a.admin.save(update_fields=["language"])
    custom_field_save(acting_user=world_a.admin, kind="ticket", key="serial", label="序列号", type="text")
    customer, contact = make_customer(world_a.rep1, mobile="13812345678")
    urgent = make_ticket(world_a, customer, contact, subject="=cmd|' /C calc'!A0", priority="urgent")
    make_ticket(world_a, customer, contact, subject="普通问题")
    Ticket.objects.filter(pk=urgent.pk).update(custom={"serial": "SN-001"})
    other_customer, other_contact = make_customer(world_b.rep1, name="别家公司")
    make_ticket(world_b, other_customer, other_contact, subject="别家工单")

    assert client_for(world_a.agent).get(EXPORT).status_code == 403
    assert client_for(world_a.rep1).post(EXPORT, {"format": "csv"}).status_code == 403
    c = client_for(world_a.admin)
    assert 'data-testid="export-links"' in c.get(reverse("service:ticket_list")).content.decode()

    rows = read_csv(c.post(EXPORT + "?priority=urgent", {"format": "csv"}))
    header = rows[0]
    assert header[-1] == "序列号" and len(rows) == 2
    row = rows[1]
    assert row[header.index("Subject")] == "'=cmd|' /C calc'!A0"
    assert row[header.index("Mobile")] == "138****5678" and row[-1] == "SN-001"
    assert row[header.index("Number")] == urgent.display_number
    event = AuditEvent.objects.get(action="ticket.export")
    assert event.details["rows"] == 1 and event.details["filters"] == {"priority": ["urgent"]}

    rows = read_csv(c.post(EXPORT, {"format": "csv"}))
    assert {r[1] for r in rows[1:]} == {"'=cmd|' /C calc'!A0", "普通问题"}
    # Another tenant's category id is not a valid filter: nothing is exported.
    assert c.get(EXPORT, {"assignee": world_b.agent.pk}).context["valid"] is False
