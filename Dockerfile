# Easel: slim, non-root, runs `python -m bot`. Configuration comes from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 easel
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install ".[azure,postgres]"

USER easel
WORKDIR /home/easel
# The default SQLite file lives here; mount a volume (or set DATABASE_URL) to keep it.
VOLUME ["/home/easel"]
# Socket Mode serves /metrics, /healthz and /readyz on METRICS_PORT; HTTP mode on PORT, beside /slack/events.
ENV METRICS_PORT=9090
EXPOSE 3000 9090
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "ready"]
CMD ["python", "-m", "bot"]
