"""Who may do what in the admin. Curators edit content and the lexicon and watch the pipeline;
user accounts, API keys and deletion of exhibits stay with operators (superusers)."""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

CURATOR_GROUP = "curator"
CURATOR_PERMISSIONS = {
    "exhibits.gallery": ("add", "change", "view"),
    "exhibits.exhibit": ("add", "change", "view"),
    "exhibits.narration": ("add", "change", "view"),
    "exhibits.lexiconentry": ("add", "change", "delete", "view"),
    "exhibits.rendition": ("view",),
    "exhibits.renderjob": ("view",),
    "exhibits.dailylistening": ("view",),  # the listening dashboard
}


@transaction.atomic
def ensure_curator_group() -> Group:
    """Create or reset the group to exactly CURATOR_PERMISSIONS (idempotent)."""
    group, _ = Group.objects.get_or_create(name=CURATOR_GROUP)
    wanted = []
    for label, actions in CURATOR_PERMISSIONS.items():
        app_label, model = label.split(".")
        for action in actions:
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}"))
    group.permissions.set(wanted)
    return group
