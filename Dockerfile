# slipstream: the stream job and its tools in one image.
#
#   docker build -t slipstream:local .
#   docker run --rm slipstream:local validate -c /etc/slipstream/demo.toml
#
# The builder compiles librdkafka from source (rdkafka's bundled build, which
# uses its own `configure` and make, not cmake); that takes several minutes and
# is cached in its own layer, built from the manifests alone.

# ---------------------------------------------------------------- builder ---
FROM rust:1-bookworm AS builder

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config perl libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first: with stand-in sources the layer below only changes when
# Cargo.toml or Cargo.lock do. Every target the manifest names must exist.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && : > src/lib.rs \
 && echo 'fn main() {}' > benches/pipeline.rs \
 && cargo build --release --locked \
 && rm -rf src benches

# Then the project itself. COPY keeps the files' modification times, which can
# be older than the stand-ins' build, so drop the stand-ins' artifacts to make
# cargo rebuild the crate. The release profile keeps debug info for profiling;
# the image keeps only the symbols, for backtraces (61 MB -> 13 MB).
COPY . .
RUN rm -rf target/release/.fingerprint/slipstream-* \
           target/release/deps/slipstream-* target/release/deps/libslipstream-* \
 && cargo build --release --locked \
 && mkdir -p /out \
 && objcopy --strip-debug target/release/slipstream /out/slipstream

# ---------------------------------------------------------------- runtime ---
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 slipstream \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/slipstream \
      --shell /usr/sbin/nologin slipstream \
 && install -d -o slipstream -g slipstream -m 0750 /var/lib/slipstream

COPY --from=builder /out/slipstream /usr/local/bin/slipstream
COPY config/ /etc/slipstream/

USER slipstream:slipstream
WORKDIR /var/lib/slipstream

# /metrics, /healthz, /readyz
EXPOSE 9898
# slipstream stops on SIGTERM (the default) within 10 s: give it
# `stop_grace_period: 15s` or more where you run it.
ENTRYPOINT ["slipstream"]
CMD ["run", "-c", "/etc/slipstream/compose.toml"]
