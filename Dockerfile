# memproxy: an OpenAI-compatible chat proxy with long-term memory.
#
#   docker build -t memproxy .
#   docker run -d --name memproxy -p 8888:8888 -v memproxy-data:/srv/memproxy/data \
#     -e OPENAI_API_KEY=sk-... memproxy
#
# Everything the server needs is in the image: the offline embedding model is built
# here, at build time, so the container downloads nothing when it runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    HF_HUB_OFFLINE=1

# glibc keeps freed memory in one arena per thread: two arenas took ~2/3 of the RSS
# growth out of a long mixed load (bench/soak.py, docs/benchmarks.md#soak).
ENV MALLOC_ARENA_MAX=2

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin memproxy

WORKDIR /build
COPY pyproject.toml README.md requirements.lock ./
COPY memory_core ./memory_core
COPY proxy ./proxy
# The exact set CI tested (requirements.lock), not whatever is newest today.
RUN pip install -c requirements.lock . && rm -rf /build

# The server's working directory: ./config.yaml is read from here and ./data (the
# volume) holds memories, the write queue and API keys.
WORKDIR /srv/memproxy
COPY config.yaml ./config.yaml
RUN mkdir -p data && chown -R memproxy:memproxy /srv/memproxy

USER memproxy
# Build the offline multilingual embedding model into ~/.cache/memproxy/models now.
RUN python -c "from memory_core.embedding import EmbedderConfig, create_embedder; create_embedder(EmbedderConfig())"

VOLUME ["/srv/memproxy/data"]
EXPOSE 8888
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/healthz', timeout=4)"]

CMD ["memproxy", "serve", "--host", "0.0.0.0", "--port", "8888"]
