# syntax=docker/dockerfile:1

# Build a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/dialpad-etl ./cmd/dialpad-etl

# Run it as a non-root user on a minimal image (CA certificates and time
# zones included).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dialpad-etl /usr/local/bin/dialpad-etl
USER nonroot:nonroot
ENV ETL_HTTP_ADDR=:9108
EXPOSE 9108
ENTRYPOINT ["/usr/local/bin/dialpad-etl"]
CMD ["schedule"]
