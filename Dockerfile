# Candor in a container: builds the release binary, then runs it on a slim Swift runtime
# image with the demo models and config/candor.yaml.
#
#   docker build -t candor .
#   docker run --rm -p 8080:8080 candor
#   docker run --rm -p 8080:8080 -e CANDOR_ADMIN_TOKEN=... -v "$PWD/models:/app/models" candor
#
# Settings: config/candor.yaml is baked in at /app/config/candor.yaml; CANDOR_SECTION_KEY
# environment variables (docker run -e) override it.

# ---------------------------------------------------------------------------- build
FROM swift:6.2-bookworm AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas-dev pkg-config libpng-dev libjpeg-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Sources only (see .dockerignore). Tests/ is copied because Package.swift declares the
# test targets, and SwiftPM checks every declared target's folder exists.
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product candor \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/candor" /out/candor

# ---------------------------------------------------------------------------- run
# The slim image carries the Swift runtime libraries (libswiftCore, Foundation, Dispatch)
# the binary links against; OpenBLAS's, libpng's and libjpeg-turbo's runtimes are the additions.
FROM swift:6.2-bookworm-slim

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libopenblas0 libpng16-16 libjpeg62-turbo zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 candor \
    && useradd --uid 10001 --gid candor --no-create-home --home-dir /app --shell /usr/sbin/nologin candor

WORKDIR /app
COPY --from=build /out/candor /usr/local/bin/candor
COPY config ./config
COPY models ./models
# Model uploads (POST /v1/models) are written into /app/models; datasets, analyses and the
# SQLite audit log into /app/data (data.directory). A fixed numeric user, so that
# Kubernetes' runAsNonRoot can check it (deploy/kubernetes/deployment.yaml runs as 10001).
RUN mkdir -p /app/data && chown -R 10001:10001 /app/models /app/data

USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["candor"]
CMD ["serve", "--host", "0.0.0.0", "--config", "/app/config/candor.yaml"]
