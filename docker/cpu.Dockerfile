# CPU-only image: the pip Triton (nvidia-pytriton) serving the python-ort target, for machines
# without an NVIDIA GPU. Exports the small preset into /models on first start.
# Build from the repository root:  docker build -f docker/cpu.Dockerfile -t stashtag-cpu .
FROM python:3.11-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/cache/huggingface \
    YOLO_AUTOINSTALL=false
WORKDIR /opt/stashtag
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY stashtag ./stashtag
COPY core ./core
COPY client ./client
COPY export ./export
# CPU builds of torch from PyTorch's index keep the image a few GB smaller than PyPI's CUDA ones.
# The local project: its pyproject.toml bounds the dependencies.
# hadolint ignore=DL3013
RUN python3 -m pip install --index-url https://download.pytorch.org/whl/cpu \
        "torch==2.9.1" "torchvision==0.24.1" \
    && python3 -m pip install ./core ./client ./export ".[serve,export]"

EXPOSE 8000 8001 8002
VOLUME ["/models", "/cache"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v2/health/ready', timeout=4)"]
COPY docker/cpu-entrypoint.sh /usr/local/bin/stashtag-cpu
ENTRYPOINT ["/usr/local/bin/stashtag-cpu"]
