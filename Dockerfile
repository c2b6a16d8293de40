# Production image of the CRM: gunicorn serving Django, static files collected for WhiteNoise.
# The same image runs the Celery worker and beat (see docker-compose.yml). No browser in it: chromium is for the
# browser tests on development machines and CI only.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: compilemessages. Pango, HarfBuzz and the Noto CJK fonts: WeasyPrint PDFs with Chinese text.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gettext \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Translations and static files are built into the image. DEBUG=False selects WhiteNoise's
# CompressedManifestStaticFilesStorage, which needs collectstatic; the dummy SECRET_KEY exists only for these
# two commands and is not kept in the image's environment.
RUN DEBUG=False SECRET_KEY=build-only-dummy-secret-key-not-used-at-runtime \
        python manage.py compilemessages --ignore=.venv -v0 \
    && DEBUG=False SECRET_KEY=build-only-dummy-secret-key-not-used-at-runtime \
        python manage.py collectstatic --noinput -v0

# Run as an unprivileged user. The media directory belongs to it, so a named volume mounted there starts out
# writable (Docker copies the directory's ownership into a new, empty volume).
RUN useradd --create-home --uid 1000 --user-group app \
    && mkdir -p /app/media \
    && chown app:app /app/media
ENV MEDIA_ROOT=/app/media \
    DEBUG=False
USER app

EXPOSE 8000
CMD ["gunicorn", "crm.wsgi:application", "-b", "0.0.0.0:8000", "--workers", "3"]
