"""Health checks for load balancers and monitors: no login, no session, JSON, cheap enough to call every few seconds.

- `/healthz`: every part (database, Redis, worker, beat); 200 when all are well, 503 naming what fails. For monitors.
- `/healthz/ready`: can this web process serve pages (its database answers)? For a load balancer's rotation: a
  stopped worker must not take every web replica out.
- `/healthz/live`: the process answers at all, touching nothing. For a container's liveness probe.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from crm.services import health


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.health_report()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)


@never_cache
@require_safe
def healthz_ready(request: HttpRequest) -> JsonResponse:
    check = health.database_check()
    return JsonResponse(
        {"status": "ok" if check.ok else "failing", "checks": {"database": check.as_dict()}},
        status=200 if check.ok else 503,
    )


@never_cache
@require_safe
def healthz_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
