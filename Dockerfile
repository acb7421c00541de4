# The bot and its workers in one image: `python bot.py` (commands, and jobs unless WORKERS=0) or
# `python bot.py worker`. compose.yaml runs PostgreSQL, one bot and N workers from it.
# Python 3.11 (pyproject's requires-python and ruff's target), Debian bookworm like the development machine.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# The demo model draws its labels with DejaVu (core/media/demo_render.py). No ffmpeg: PyAV's wheels
# carry their own, and every other requirement installs from a wheel too (no compiler).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 --user-group videobot

WORKDIR /app
# The same install step as `make run`/`make test` and CI (.ci/run -> make test): scripts/install.sh.
# Only the requirements and the script first, so a code change keeps this layer.
COPY requirements.txt ./
COPY scripts/install.sh scripts/install.sh
RUN PYTHON=python3 sh scripts/install.sh /opt/venv requirements.txt
ENV PATH=/opt/venv/bin:$PATH

# The code belongs to root (read-only for the bot); only data/ (SQLite, videos) is the bot's.
COPY . .
RUN mkdir -p /app/data/videos && chown -R videobot:videobot /app/data
USER videobot

# The health endpoint (/healthz, /readyz, /metrics) listens on every interface of the container.
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
EXPOSE 8080
# Healthy = /readyz answers 200: the database answers, the gateway is connected (bot) or the REST
# session works (worker), and the claim loop is recent. 503 (or no answer) is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]

CMD ["python", "bot.py"]
