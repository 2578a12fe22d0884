# Multi-stage build of the access-reviews service.
#
# Both base images can be replaced for air-gapped sites, for instance with
# images built from local mirrors:
#   docker compose build --build-arg RUST_IMAGE=... --build-arg RUNTIME_IMAGE=...
ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p access-reviews-server --bin access-reviews \
    && install -D -m 0755 target/release/access-reviews /out/access-reviews

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/access-reviews /usr/local/bin/access-reviews
# An unprivileged user with no shell and no home: the service needs neither.
USER 10001:10001
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/access-reviews"]
CMD ["serve"]
