# The access-reviews service image.
#
#   docker compose up --build            builds it from source (target `runtime`)
#   docker build --target prebuilt ...   packs a binary cargo already built,
#                                        copied to dist/access-reviews first
#                                        (scripts/compose-test.sh does so)
#
# Both base images can be replaced for air-gapped sites, for instance with
# images built from local mirrors:
#   docker compose build --build-arg RUST_IMAGE=... --build-arg RUNTIME_IMAGE=...
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# First, so that the classic builder, which builds every stage up to the
# target, builds only this one for `--target prebuilt`. `Cargo.toml` keeps
# the COPY valid when dist/ is absent (a source build).
FROM ${RUNTIME_IMAGE} AS prebuilt
COPY Cargo.toml dist* /tmp/prebuilt/
RUN if [ -f /tmp/prebuilt/access-reviews ]; then \
        install -m 0755 /tmp/prebuilt/access-reviews /usr/local/bin/access-reviews; \
    fi && rm -rf /tmp/prebuilt
# An unprivileged user with no shell and no home: the service needs neither.
USER 10001:10001
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/access-reviews"]
CMD ["serve"]

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# The dependencies, in a layer of their own: built from the manifests and
# the lock file with empty crates, so an edit to the project's code
# rebuilds only the workspace crates, and an edit to anything else
# (README, docs, scripts) nothing at all.
COPY Cargo.toml Cargo.lock ./
COPY crates/domain/Cargo.toml crates/domain/
COPY crates/postgres/Cargo.toml crates/postgres/
COPY crates/api/Cargo.toml crates/api/
COPY crates/server/Cargo.toml crates/server/
COPY crates/test-support/Cargo.toml crates/test-support/
COPY bench/Cargo.toml bench/
RUN for lib in domain postgres api server test-support; do \
        mkdir -p crates/$lib/src && touch crates/$lib/src/lib.rs; \
    done \
    && echo 'fn main() {}' > crates/server/src/main.rs \
    && mkdir -p bench/src && echo 'fn main() {}' > bench/src/main.rs && cp bench/src/main.rs bench/src/thin.rs \
    && cargo build --release --locked -p access-reviews-server --bin access-reviews \
    && rm -rf crates/*/src
COPY crates crates
COPY migrations migrations
# Newer than the empty crates' build, whatever the context's times.
RUN find crates -name '*.rs' -exec touch {} + \
    && cargo build --release --locked -p access-reviews-server --bin access-reviews \
    && install -D -m 0755 target/release/access-reviews /out/access-reviews

# The prebuilt stage's user, port and entry point, with the binary built
# above.
FROM prebuilt AS runtime
COPY --from=build /out/access-reviews /usr/local/bin/access-reviews
# CA certificates for an https:// AUTH_JWKS_URL, from the build image.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
