from django import template

from crm.models import Role
from crm.savedviews.forms import SavedViewForm
from crm.savedviews.models import SavedView
from crm.savedviews.services import clean_query

register = template.Library()


@register.inclusion_tag("savedviews/_menu.html", takes_context=True)
def saved_views(context, list_name: str) -> dict:
    """The list's saved views menu: the user's own and their teams' views, and the form saving the current filters."""
    request = context["request"]
    user = request.user
    query = clean_query(request.GET.urlencode())
    form = SavedViewForm(initial={"list_name": list_name, "query": query}, user=user)
    # Only managers share with a team: the others' menu asks nothing more of the database.
    teams = list(form.fields["team"].queryset) if user.has_any_role(Role.MANAGER, Role.ADMIN) else []
    return {
        "views": list(SavedView.objects.visible_to(user).filter(list_name=list_name).select_related("owner")),
        "form": form,
        "teams": teams,
        "list_name": list_name,
        "query": query,
        "user": user,
        "csrf_token": context.get("csrf_token"),
    }
