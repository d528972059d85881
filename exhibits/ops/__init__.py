"""Operations: what keeps the site safe to run, apart from the catalogue itself.

``health`` answers ``/healthz`` for load balancers (database, broker, a live worker, whose
``heartbeat`` also says whether its voice files are usable),
``moderation`` vets every text that becomes public speech (through ``settings.MODERATION_BACKEND``)
and ``roles`` defines the curator group's permissions. These modules are leaves: they may import
Django, ``exhibits.models`` and the ``synthesis`` library, but never ``exhibits.services``, the
render jobs, the visitor site, the API or the admin, because services, forms, the admin and the
API all import ``moderation`` and an import back would close a circle.
"""
