# Triton serving image: NVIDIA's NGC tritonserver with stashtag's python-backend models.
# Serves the onnxruntime target (ORT + TensorRT accelerator, fp16) or the tensorrt target (plans)
# from the repository mounted at /models, on GPUs.
# Build from the repository root:  docker build -f docker/serve.Dockerfile -t stashtag-triton .
ARG TRITON_RELEASE=25.01
FROM nvcr.io/nvidia/tritonserver:${TRITON_RELEASE}-py3

ENV PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/stashtag
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY stashtag ./stashtag
COPY core ./core
COPY client ./client
COPY export ./export
# The python-backend models (decode, NMS, OCR, tokenizer) run in Triton's own Python; the
# python-ort target uses ONNX Runtime's CUDA EP there.
RUN python3 -m pip install -c constraints.txt ./core ./client ".[models]" "onnxruntime-gpu>=1.18"

EXPOSE 8000 8001 8002
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=4)"]
# --model-control-mode=none is always on. Key and TLS come from STASHTAG_SERVER_KEY,
# STASHTAG_TLS_CERT and STASHTAG_TLS_KEY (or flags appended to the command).
ENTRYPOINT ["stashtag", "serve", "--repo", "/models", "--address", "0.0.0.0", \
            "--tritonserver", "/opt/tritonserver/bin/tritonserver", \
            "--backend-directory", "/opt/tritonserver/backends"]
