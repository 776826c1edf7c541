# The shop binary in a small image. Build: docker build -t shop .
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci's postinstall applies patches/ (patch-package) and fails if a patch no longer applies.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN node_modules/.bin/bun scripts/build.ts /src/shop

FROM debian:bookworm-slim
COPY --from=build /src/shop /usr/local/bin/shop
ENV SHOP_PROFILE=prod
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/shop"]
