# Export image: NGC PyTorch (with TensorRT) + stashtag's exporters. Writes a model repository
# (ONNX, and fp16 TensorRT plans for the tensorrt target) into the volume mounted at /models.
# Plans are built for the GPU they run on: run this on the serving host, same NGC release.
# Build from the repository root:  docker build -f docker/export.Dockerfile -t stashtag-export .
ARG PYTORCH_RELEASE=25.01
FROM nvcr.io/nvidia/pytorch:${PYTORCH_RELEASE}-py3

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
# The image's own torch and TensorRT stay (its pip constraint file pins them).
# The local project: its pyproject.toml bounds the dependencies.
# hadolint ignore=DL3013
RUN python3 -m pip install ./core ./client ./export ".[export,models]"

VOLUME ["/models", "/cache"]
ENTRYPOINT ["stashtag", "repo", "build", "--repo", "/models", "--if-missing"]
CMD ["--preset", "large", "--target", "tensorrt", "--fp16"]
