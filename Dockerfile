# carriersim in a container, after the conventions of the LocalStack and WireMock images: one port (8080), the
# configuration in environment variables, state in a volume when asked for, a health check.
#
#   docker build -t carriersim .
#   docker run --rm -p 8080:8080 -e CARRIERSIM_ADMIN_TOKEN=secret carriersim
#
# Environment:
#   CARRIERSIM_ADMIN_TOKEN  the bearer token of /_sim (unset: one is generated and printed in the log)
#   CARRIERSIM_DB           a SQLite file for durable state, e.g. /data/carriersim.db on a volume (unset: in memory)
# Any other option: docker run … carriersim carriersim serve --host 0.0.0.0 --fleet 1000 (README, "In a container").

FROM python:3.12-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY carriersim carriersim
COPY simulator simulator
COPY scenarios scenarios
COPY conformance conformance
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /dist .

FROM python:3.12-slim
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir /dist/carriersim-*.whl && rm -rf /dist \
    && useradd --create-home carriersim && mkdir /data && chown carriersim /data
USER carriersim
WORKDIR /home/carriersim
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
CMD ["carriersim", "serve", "--host", "0.0.0.0", "--port", "8080"]
