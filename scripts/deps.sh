#!/usr/bin/env bash
# make deps: install the Debian packages tarn's build, tests and benchmarks
# need (only those missing), then fetch the pinned DuckDB library and header
# from the npm registry into deps/duckdb (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compilers and libraries.  Tests: real clients.  Bench: peers.
PKGS=(
  gcc g++ make pkg-config
  libsqlite3-dev libssl-dev libyaml-dev libcurl4-openssl-dev
  libjansson-dev libsimdjson-dev libexpat1-dev liblz4-dev
  curl jq awscli python3 python3-boto3 rclone s3cmd
  nginx-light wrk postgresql
  python3-psycopg2 libpostgresql-jdbc-java openjdk-17-jdk-headless unixodbc odbc-postgresql
  e2fsprogs util-linux procps
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm fetches DuckDB; use the machine's own if it has one.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# DuckDB, pinned: the library from the node bindings package for this CPU,
# the header from the duckdb package of the same DuckDB release.
DUCKDB_VERSION=1.4.4
DUCKDB_LIB_PKG_VERSION=1.4.4-r.4
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "deps: no DuckDB build for $(uname -m)" >&2; exit 1 ;;
esac
dest=deps/duckdb
stamp="$dest/.version"
want="$DUCKDB_VERSION $DUCKDB_LIB_PKG_VERSION $arch"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -f "$dest/lib/libduckdb.so" ] && [ -f "$dest/include/duckdb.h" ]; then
  exit 0
fi
echo "deps: fetching DuckDB $DUCKDB_VERSION ($arch) from the npm registry"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent --ignore-scripts \
    "@duckdb/node-bindings-linux-$arch@$DUCKDB_LIB_PKG_VERSION" "duckdb@$DUCKDB_VERSION" >/dev/null )
mkdir -p "$tmp/lib" "$tmp/hdr"
tar xzf "$tmp"/duckdb-node-bindings-linux-"$arch"-*.tgz -C "$tmp/lib" package/libduckdb.so
tar xzf "$tmp"/duckdb-"$DUCKDB_VERSION".tgz -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h
rm -rf "$dest"
mkdir -p "$dest/lib" "$dest/include"
mv "$tmp/lib/package/libduckdb.so" "$dest/lib/"
mv "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$dest/include/"
echo "$want" > "$stamp"
echo "deps: DuckDB ready in $dest"
