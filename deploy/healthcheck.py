"""Container health probe: GET /healthz on the local gunicorn with a Host header Django accepts.

Exit 0 when the app answers 200 (database, broker and voice all ready), 1 otherwise.
"""
import os
import sys
import urllib.request

hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "localhost").split(",") if h.strip()]
host = next((h for h in hosts if h != "*"), "localhost")
port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # 503 raises HTTPError: unhealthy, say why in `docker inspect`
    print(f"unhealthy: {exc}", file=sys.stderr)
    sys.exit(1)
