# The light client as a sidecar: `stashtag-client stash --watch` against a Stash URL, for users
# who prefer it to the Stash plugin (docker/compose.yml, profile "sidecar").
# Alpine (musl) on purpose: the same wheels-only install the plugin makes inside Stash's image.
FROM python:3.12-alpine

WORKDIR /src
COPY core core
COPY client client
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels ./core ./client \
    && pip install --no-cache-dir --only-binary=:all: /wheels/*.whl \
    && rm -rf /wheels /src \
    && adduser -D -u 10001 stashtag \
    && mkdir /data && chown stashtag /data

USER 10001
WORKDIR /data
VOLUME ["/data"]
# Stash URL, API key and Triton endpoints come from STASHTAG_STASH_URL, STASHTAG_STASH_API_KEY
# and STASHTAG_ENDPOINTS (docs/settings.md lists every variable).
ENTRYPOINT ["stashtag-client", "stash", "--watch", "--store", "/data/stashtag.db"]
CMD ["--scenes", "queued"]
