"""The sweep plants the same rows in both of its tenants, each carrying its own marker: the tenant's prefix
(QMARKA for tenant A, whose data must never reach tenant B; QMARKB for B). Sample modules write every marked text as
"MARKA …" and pass it through `named(world, text)`, which replaces "MARKA" with the marker of `world`."""


def mark(world) -> str:
    """The marker of `world`'s rows: its prefix, the first word of its tenant's name."""
    return world.tenant.name.split()[0]


def named(world, text: str) -> str:
    """`text` ("MARKA …") as planted in `world`."""
    return text.replace("MARKA", mark(world))
