# Credit-scoring service: Gradio form + JSON API on port 7860 (Hugging Face Docker Space).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HOST=0.0.0.0 \
    PORT=7860 \
    MODEL_DIR=/app/models \
    LOG_PATH=/app/logs/predictions.log

# Hugging Face runs Spaces as uid 1000.
RUN useradd --create-home --uid 1000 user
WORKDIR /app

# Dependencies first: this layer is rebuilt only when the pins change.
COPY requirements-serve.txt ./
RUN pip install --no-cache-dir -r requirements-serve.txt

COPY --chown=user:user scoring/ scoring/
COPY --chown=user:user api/ api/
COPY --chown=user:user serving/ serving/
COPY --chown=user:user models/ models/
COPY --chown=user:user app_gradio.py ./
RUN mkdir -p /app/logs && chown user:user /app/logs

USER 1000:1000
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '7860') + '/health', timeout=4)"]
CMD ["python", "app_gradio.py"]
