# bidserver: one container with the server and, unless BIDSERVER_REDIS_URL points elsewhere, the
# embedded Redis it supervises (AOF, fsync on every write) in the /data volume.
#   docker build -t bidserver .
#   docker run -p 8000:8000 -v bidserver-data:/data bidserver
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIDSERVER_DATA_DIR=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data --no-create-home bidserver \
 && mkdir -p /data && chown bidserver:bidserver /data

USER bidserver
# Holds the embedded Redis (the journal) and the generated JWT key: keep it across upgrades.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["bidserver", "serve", "--host", "0.0.0.0", "--port", "8000"]
