# The shop binary in a small image: docker build -t shop .
# The build stage takes the README's own path: `npm run build` runs scripts/setup.sh (npm ci, whose
# postinstall applies patches/ and fails if a patch no longer applies), then scripts/build.ts
# (which refuses an unpatched Kafka client). The final stage holds the compiled binary alone.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts ./scripts
RUN bash scripts/setup.sh
COPY . .
RUN npm run build -- /out/shop \
 && mkdir -p /out/data \
 && /out/shop --version

# glibc and libstdc++ for Bun's runtime, nothing else; runs as uid 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/shop /usr/local/bin/shop
# The state caches (--data-dir of the prod profile), writable by the nonroot user.
COPY --from=build --chown=65532:65532 /out/data /var/lib/shop
USER 65532:65532
ENV SHOP_PROFILE=prod
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s CMD ["/usr/local/bin/shop", "probe"]
ENTRYPOINT ["/usr/local/bin/shop"]
