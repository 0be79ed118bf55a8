# coi-bot: the production webhook server, installed from the committed lock file.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
# Dependencies first, so that a code change does not reinstall them. --no-dev also leaves out
# the GitHub simulator (githubsim/, a dev-group path source), so it is not copied.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY config ./config
COPY app.py ./
RUN uv sync --frozen --no-dev && useradd --system --uid 10001 --home /app coi
USER coi
ENV PATH="/app/.venv/bin:$PATH" PORT=8080 COI_MAP=/app/config/affiliations.yml
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"8080\")}/healthz', timeout=2)" || exit 1
CMD ["coi-bot", "serve"]
