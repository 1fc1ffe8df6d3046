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
EXPOSE 3000
CMD ["python", "-m", "bot"]
