"""The visitor site: what a museum visitor's phone sees, read-only.

``urls`` maps the public paths (``/``, ``/go/``, ``/e/<code>/`` and its QR codes, gallery pages
``/g/<id>/`` with their offline bundle, the service worker ``/sw.js``, the staff label sheet
``/labels/``) to ``views``; ``pages`` loads and caches what those pages show, ``offline`` lists
what a phone downloads to listen to a gallery offline, ``transcript`` turns a rendition's
timings into the clause spans that follow playback, ``qr`` and ``labels`` draw QR codes and
printable sheets, and ``media`` serves MEDIA_ROOT with byte ranges.
These modules read ``exhibits.models`` (and the ``synthesis`` text front end, to show a script
whose audio is still rendering) and never write a row: they never import ``exhibits.services``,
the render jobs, the API, the admin or the listening analytics (which writes rows; the exhibit
page's script talks to it over HTTP). tests/test_architecture.py holds them to that.
"""
