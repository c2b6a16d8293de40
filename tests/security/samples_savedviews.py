"""Sample URL arguments for the saved views' patterns (crm.savedviews), for the cross-tenant sweep."""

from crm.savedviews.models import SavedView
from crm.savedviews.services import saved_view_save

from .marks import named


def _view(world):
    view = SavedView.objects.filter(tenant=world.tenant, owner=world.rep1).first()
    if view is None:
        view = saved_view_save(
            acting_user=world.rep1, list_name="customers:list", name=named(world, "MARKA 视图"), query="q=x"
        )
    return {"pk": view.pk}


SAMPLES = {
    "savedviews:delete": _view,
}

VIEWERS = {
    "savedviews:delete": "rep1",
}
