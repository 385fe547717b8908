# MIV's image: the web (gunicorn), the Celery worker and beat all run from it
# (docker-compose.yml). Production mode by default; no secret is built in: the
# configuration comes from the environment when a container starts (.dockerignore keeps
# .env and the like out of the build context).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=false \
    MIV_DATA_DIR=/data \
    MIV_STATIC_ROOT=/app/staticfiles
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY . .
# Translations and static files are built into the image. The settings need a key and a
# host to load in production mode; these two exist only during this build step.
RUN pip install --no-cache-dir -c requirements.lock . \
    && export DJANGO_SECRET_KEY=image-build-only DJANGO_ALLOWED_HOSTS=localhost MIV_DATA_DIR=/tmp/build \
    && python manage.py compilemessages --ignore=.venv -v 0 \
    && python manage.py collectstatic --noinput -v 0 \
    && rm -rf /tmp/build
RUN useradd --create-home miv && mkdir -p /data && chown miv /data
USER miv
EXPOSE 8000
CMD ["gunicorn", "miv.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
