#!/bin/sh
# Re-vendors the browser libraries the pages load, from the npm registry, with their licences.
# Usage: static/vendor/update.sh [hls.js version] [socket.io-client version]
# The files are committed: the server needs no build step and no network to serve the pages.
set -eu
HLS_VERSION="${1:-1}"
SIO_VERSION="${2:-4}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "hls.js@$HLS_VERSION" "socket.io-client@$SIO_VERSION" >/dev/null
mkdir hls sio
tar xzf hls.js-*.tgz -C hls
tar xzf socket.io-client-*.tgz -C sio
# Source-map comments point at files we do not ship; drop them.
sed '/^\/\/# sourceMappingURL=/d' hls/package/dist/hls.min.mjs > "$here/hls.min.mjs"
sed '/^\/\/# sourceMappingURL=/d' hls/package/dist/hls.worker.js > "$here/hls.worker.js"
cp hls/package/LICENSE "$here/hls.js.LICENSE"
sed '/^\/\/# sourceMappingURL=/d' sio/package/dist/socket.io.esm.min.js > "$here/socket.io.esm.min.js"
cp sio/package/LICENSE "$here/socket.io-client.LICENSE"
{
  echo "hls.js $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' hls/package/package.json | head -1) (Apache-2.0): hls.min.mjs, hls.worker.js"
  echo "socket.io-client $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' sio/package/package.json | head -1) (MIT): socket.io.esm.min.js"
} > "$here/VERSIONS"
echo "vendored into $here:"; cat "$here/VERSIONS"
