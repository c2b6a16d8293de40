from django.dispatch import Signal

# Sent after a tenant's working calendar or its overrides changed and the change committed, with `tenant`:
# apps that store deadlines computed on the calendar (SLA timers) recompute them.
calendar_changed = Signal()
