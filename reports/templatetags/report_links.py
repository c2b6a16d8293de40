from django import template

from reports.selectors import drilldown

register = template.Library()


@register.simple_tag
def list_url(scope, figure: str, person=None) -> str:
    """The customer, lead or task list behind a dashboard's figure, with the report's period, team and person."""
    return drilldown.list_url(scope, figure, person)
