# LEG-Simulator dashboard image: python:3.11-slim, non-root, health check on /healthz.
#   docker build -t leg-sim .
#   docker run -d --name leg-sim -p 8050:8050 \
#       -v "$PWD/config.yaml:/config/config.yaml:ro" \
#       -v leg-state:/state \
#       -e LEG_ALLOW_ORIGIN=leg.example.org leg-sim
# /state keeps the session-signing secret (unless LEG_SECRET_KEY is given) across restarts.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LEG_CONFIG=/config/config.yaml \
    LEG_STATE_DIR=/state \
    PORT=8050

RUN useradd --system --create-home --home-dir /home/legsim --shell /usr/sbin/nologin legsim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY deploy/constraints.txt ./deploy/constraints.txt
COPY leg_sim ./leg_sim
COPY apps ./apps
# Exact versions (deploy/constraints.txt): the image builds the same way every time.
RUN pip install --no-cache-dir -c deploy/constraints.txt -e . \
    && mkdir -p /config /state && chown legsim: /state
COPY config.yaml /config/config.yaml

VOLUME /state
USER legsim
EXPOSE 8050
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8050'), timeout=4).status == 200 else 1)"

CMD ["python", "-m", "leg_sim", "serve"]
