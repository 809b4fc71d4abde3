# syntax=docker/dockerfile:1
# mainloop image: the hub (`mainloop serve`) and the agent entrypoint (`mainloop agent-run`),
# with Node and the claude-code-mcp server for sub-agents. Python deps come from uv.lock only.
#   docker build -t mainloop:0.1.0 .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Python environment, resolved exactly from uv.lock (all extras: bigquery, kubernetes).
FROM ${PYTHON_IMAGE} AS python-build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --all-extras --no-install-project
COPY mainloop_mcp ./mainloop_mcp
RUN uv sync --frozen --no-dev --all-extras --no-editable

# 2. Node tools, resolved exactly from their package-lock.json.
FROM ${NODE_IMAGE} AS node-build
WORKDIR /opt/agent-tools
COPY docker/agent-tools/package.json docker/agent-tools/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# 3. Runtime: no compilers, no package managers' caches, a non-root user.
FROM ${PYTHON_IMAGE}
COPY --from=node-build /usr/local/bin/node /usr/local/bin/node
COPY --from=node-build /opt/agent-tools /opt/agent-tools
COPY --from=python-build /app/.venv /app/.venv
RUN groupadd --gid 1000 mainloop \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/mainloop --shell /usr/sbin/nologin mainloop
ENV PATH=/app/.venv/bin:/opt/agent-tools/node_modules/.bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CLAUDE_CLI_NAME=/opt/agent-tools/node_modules/.bin/claude
USER 1000:1000
WORKDIR /home/mainloop
EXPOSE 8765
ENTRYPOINT ["mainloop"]
CMD ["serve"]
