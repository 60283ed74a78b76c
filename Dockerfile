FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////data/seenit.db

RUN useradd --create-home --uid 10001 seenit \
    && mkdir /data && chown seenit /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
RUN pip install .

USER seenit
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
