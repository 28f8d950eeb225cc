#!/bin/sh
# cnpgtp client-CA bundle sync (clientCaBundle.mechanism: syncWorkload).
#
# Keeps key ca.crt of Secret $TARGET_SECRET equal to the bundle PostgreSQL trusts: the
# certificates of the cluster client CA ($CLUSTER_CA_SECRET, key $CLUSTER_CA_KEY) first, then
# those of Teleport's database client CA ($TELEPORT_CA_SECRET, key $TELEPORT_CA_KEY), each
# certificate once. Every PEM block is checked to be an X.509 v3 certificate before anything is
# written: a private key, a request or any other block, broken base64 or a source without a
# certificate is logged and nothing is written (the previous bundle stays). The bundle never
# holds a ca.key: CloudNativePG then never signs with it, and the CA key stays in one Secret.
#
#   sync.sh bundle FILE...   print the bundle built from PEM files, in order (no Kubernetes)
#   sync.sh once             read the sources, write the target only if its ca.crt differs
#   sync.sh run              `once` at start and on every change of a source or the target;
#                            exits when a watch ends, so Kubernetes restarts the container
#
# After writing a new bundle, `once` annotates each Pooler in $POOLERS (space-separated) so
# CloudNativePG reconciles it and PgBouncer picks up the new CA (CloudNativePG reloads
# PostgreSQL itself: the target carries the label cnpg.io/reload).
#
# With $TELEPORT_DATABASES (space-separated TeleportDatabaseV3 names in $TELEPORT_NAMESPACE),
# `once` also keeps their spec.tls.ca_cert equal to the server CA ($SERVER_CA_SECRET, key
# $SERVER_CA_KEY), checked like the bundle's sources, and `run` watches those objects too: the
# server CA exists only in the cluster, so the render leaves the field out for this script.
#
# Only POSIX sh and utilities found in busybox and GNU coreutils are used (awk, base64, od, fold,
# cmp, grep, mktemp, mkfifo, sha256sum) besides kubectl ($KUBECTL, default kubectl).

set -eu

KUBECTL=${KUBECTL:-kubectl}
TAB=$(printf '\t')

log() {
  printf '%s ca-bundle: %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$*" >&2
}

# Splits PEM text into lines `block<TAB>LABEL<TAB>BASE64`, `text<TAB>COUNT` (non-blank lines
# outside blocks, which PEM readers ignore) and `error<TAB>MESSAGE` (broken framing).
SPLIT_PEM='
BEGIN { inblock = 0; text = 0; failed = 0 }
{ sub(/\r$/, "") }
failed { next }
!inblock && /^-----BEGIN [^-]+-----[ \t]*$/ {
  label = $0; sub(/^-----BEGIN /, "", label); sub(/-----[ \t]*$/, "", label)
  inblock = 1; body = ""; start = NR; next
}
inblock && /^-----END [^-]+-----[ \t]*$/ {
  end = $0; sub(/^-----END /, "", end); sub(/-----[ \t]*$/, "", end)
  if (end != label) {
    printf "error\tline %d: block %s (line %d) ends with END %s\n", NR, label, start, end
    failed = 1; next
  }
  printf "block\t%s\t%s\n", label, body; inblock = 0; next
}
inblock && /^-----/ {
  printf "error\tline %d: new boundary inside block %s (line %d)\n", NR, label, start
  failed = 1; next
}
inblock { line = $0; gsub(/[ \t]/, "", line); body = body line; next }
/[^ \t]/ { text++ }
END {
  if (!failed && inblock) printf "error\tblock %s (line %d) has no END line\n", label, start
  if (text) printf "text\t%d\n", text
}
'

# Reads `od -An -v -tu1` of a DER object; prints nothing if it has the shape of an X.509 v3
# certificate (SEQUENCE { tbsCertificate SEQUENCE { [0] version, ... }, signatureAlgorithm
# SEQUENCE, signatureValue BIT STRING } with exact lengths), else the reason.
CHECK_DER='
{ for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
function len(pos,   l, k, i) {
  if (pos >= n) return -1
  l = b[pos]
  if (l < 128) { hdr = 1; return l }
  k = l - 128
  if (k < 1 || k > 3 || pos + k >= n) return -1
  l = 0
  for (i = 1; i <= k; i++) l = l * 256 + b[pos + i]
  hdr = 1 + k
  return l
}
function fail(why) { print why; failed = 1; exit }
END {
  if (failed) exit
  if (n < 2 || b[0] != 48) fail("not a DER SEQUENCE")
  l = len(1)
  if (l < 0 || 1 + hdr + l != n) fail("DER length does not match the data")
  p = 1 + hdr
  want[1] = 48; want[2] = 48; want[3] = 3
  for (c = 1; c <= 3; c++) {
    if (p >= n || b[p] != want[c]) fail("not the three parts of an X.509 certificate")
    if (c == 1) tbs = p
    l = len(p + 1)
    if (l < 0) fail("bad DER length")
    p = p + 1 + hdr + l
    if (p > n) fail("DER length runs past the data")
  }
  if (p != n) fail("data after the certificate")
  l = len(tbs + 1)
  if (b[tbs + 1 + hdr] != 160) fail("not an X.509 v3 certificate (no version field)")
}
'

# merge NAME FILE [NAME FILE...]: prints the certificates of every FILE in order, each once,
# as PEM wrapped at 64 columns. Returns 1, having logged why and printed nothing, if a FILE
# holds a block that is not a certificate, broken PEM, or no certificate at all.
merge() {
  dir=$(mktemp -d "${TMPDIR:-/tmp}/ca-bundle.XXXXXX")
  : >"$dir/seen"
  : >"$dir/out"
  rc=0
  while [ $# -ge 2 ] && [ $rc -eq 0 ]; do
    name=$1 file=$2
    shift 2
    if [ ! -r "$file" ]; then
      log "rejected: $name cannot be read"
      rc=1
      break
    fi
    awk "$SPLIT_PEM" <"$file" >"$dir/blocks"
    index=0 count=0
    while IFS=$TAB read -r kind a b; do
      case $kind in
        text) log "$name: ignoring $a line(s) of text outside PEM blocks" ;;
        error)
          log "rejected: $name: $a"
          rc=1
          break
          ;;
        block)
          index=$((index + 1))
          if [ "$a" != CERTIFICATE ]; then
            log "rejected: $name block $index is a $a, not a CERTIFICATE"
            rc=1
            break
          fi
          # The base64 alphabet and length are checked here: busybox base64 -d is lenient.
          if ! printf '%s\n' "$b" | grep -Eq '^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$' ||
            ! printf '%s' "$b" | base64 -d >"$dir/der" 2>/dev/null; then
            log "rejected: $name block $index (CERTIFICATE) is not valid base64"
            rc=1
            break
          fi
          why=$(od -An -v -tu1 "$dir/der" | awk "$CHECK_DER")
          if [ -n "$why" ]; then
            log "rejected: $name block $index is labelled CERTIFICATE but is not one: $why"
            rc=1
            break
          fi
          count=$((count + 1))
          canonical=$(base64 <"$dir/der" | tr -d '\n')
          if grep -qxF -- "$canonical" "$dir/seen"; then
            continue
          fi
          printf '%s\n' "$canonical" >>"$dir/seen"
          {
            echo '-----BEGIN CERTIFICATE-----'
            printf '%s\n' "$canonical" | fold -w 64
            echo '-----END CERTIFICATE-----'
          } >>"$dir/out"
          ;;
      esac
    done <"$dir/blocks"
    if [ $rc -eq 0 ] && [ $count -eq 0 ]; then
      log "rejected: $name holds no certificate"
      rc=1
    fi
  done
  if [ $rc -eq 0 ]; then
    cat "$dir/out"
  fi
  rm -rf "$dir"
  return $rc
}

require() {
  for variable; do
    eval "value=\${$variable:-}"
    if [ -z "$value" ]; then
      log "environment variable $variable is not set"
      exit 2
    fi
  done
}

# fetch SECRET KEY FILE: writes the decoded value of data[KEY] of SECRET to FILE (empty if the
# key is missing). Fails if the Secret cannot be read.
fetch() {
  path=$(printf '%s' "$2" | sed 's/\./\\./g')
  value=$($KUBECTL -n "$NAMESPACE" get secret "$1" -o "jsonpath={.data.$path}") || return 1
  printf '%s' "$value" | base64 -d >"$3"
}

once() {
  require NAMESPACE CLUSTER_CA_SECRET CLUSTER_CA_KEY TELEPORT_CA_SECRET TELEPORT_CA_KEY TARGET_SECRET
  work=$(mktemp -d "${TMPDIR:-/tmp}/ca-bundle.XXXXXX")
  status=0
  sync_into "$work" || status=$?
  if [ -n "${TELEPORT_DATABASES:-}" ]; then
    mkdir "$work/teleport-ca"
    sync_teleport_ca "$work/teleport-ca" || status=1
  fi
  rm -rf "$work"
  return $status
}

TELEPORT_DATABASE=teleportdatabasesv3.resources.teleport.dev

# sync_teleport_ca DIR: writes the server CA into spec.tls.ca_cert of every $TELEPORT_DATABASES
# object that does not hold it already.
sync_teleport_ca() {
  require SERVER_CA_SECRET SERVER_CA_KEY TELEPORT_NAMESPACE
  # Not `dir`: merge uses that name (POSIX sh has no local variables).
  ca_dir=$1
  fetch "$SERVER_CA_SECRET" "$SERVER_CA_KEY" "$ca_dir/source" || {
    log "cannot read Secret $SERVER_CA_SECRET; no Teleport database updated"
    return 1
  }
  merge "Secret $SERVER_CA_SECRET key $SERVER_CA_KEY" "$ca_dir/source" >"$ca_dir/ca.pem" || {
    log "server CA not written to the Teleport databases: fix Secret $SERVER_CA_SECRET"
    return 1
  }
  # PEM is base64, dashes, spaces and newlines: only the newlines need escaping in JSON.
  escaped=$(awk '{ printf "%s\\n", $0 }' "$ca_dir/ca.pem")
  failed=0
  for database in $TELEPORT_DATABASES; do
    current=$($KUBECTL -n "$TELEPORT_NAMESPACE" get "$TELEPORT_DATABASE" "$database" \
      -o 'jsonpath={.spec.tls.ca_cert}') || {
      log "cannot read TeleportDatabaseV3 $database in $TELEPORT_NAMESPACE (not created yet?)"
      failed=1
      continue
    }
    printf '%s\n' "$current" >"$ca_dir/current"
    if [ -n "$current" ] && cmp -s "$ca_dir/current" "$ca_dir/ca.pem"; then
      continue
    fi
    if $KUBECTL -n "$TELEPORT_NAMESPACE" patch "$TELEPORT_DATABASE" "$database" \
      --field-manager=cnpgtp-ca-bundle --type=merge \
      -p "{\"spec\":{\"tls\":{\"ca_cert\":\"$escaped\"}}}" >/dev/null; then
      log "wrote the server CA into TeleportDatabaseV3 $database"
    else
      log "writing the server CA into TeleportDatabaseV3 $database failed"
      failed=1
    fi
  done
  return $failed
}

sync_into() {
  work=$1
  fetch "$CLUSTER_CA_SECRET" "$CLUSTER_CA_KEY" "$work/cluster" || {
    log "cannot read Secret $CLUSTER_CA_SECRET; nothing written"
    return 1
  }
  fetch "$TELEPORT_CA_SECRET" "$TELEPORT_CA_KEY" "$work/teleport" || {
    log "cannot read Secret $TELEPORT_CA_SECRET; nothing written"
    return 1
  }
  merge "Secret $CLUSTER_CA_SECRET key $CLUSTER_CA_KEY" "$work/cluster" \
    "Secret $TELEPORT_CA_SECRET key $TELEPORT_CA_KEY" "$work/teleport" >"$work/bundle" || {
    log "bundle not written: fix the source Secret; the previous bundle stays in place"
    return 1
  }
  fetch "$TARGET_SECRET" ca.crt "$work/current" || {
    log "cannot read Secret $TARGET_SECRET (render and apply it first); nothing written"
    return 1
  }
  if cmp -s "$work/bundle" "$work/current"; then
    return 0
  fi
  encoded=$(base64 <"$work/bundle" | tr -d '\n')
  $KUBECTL -n "$NAMESPACE" patch secret "$TARGET_SECRET" --field-manager=cnpgtp-ca-bundle \
    --type=merge -p "{\"data\":{\"ca.crt\":\"$encoded\"}}" >/dev/null || {
    log "writing Secret $TARGET_SECRET failed"
    return 1
  }
  digest=$(sha256sum <"$work/bundle" | cut -d' ' -f1)
  log "wrote Secret $TARGET_SECRET ca.crt: $(grep -c -- '-----BEGIN CERTIFICATE-----' "$work/bundle") certificates, sha256 $digest"
  for pooler in ${POOLERS:-}; do
    if $KUBECTL -n "$NAMESPACE" patch poolers.postgresql.cnpg.io "$pooler" \
      --field-manager=cnpgtp-ca-bundle --type=merge \
      -p "{\"metadata\":{\"annotations\":{\"cnpgtp.io/client-ca-bundle-sha256\":\"$digest\"}}}" >/dev/null; then
      log "annotated Pooler $pooler so PgBouncer reloads the bundle"
    else
      log "could not annotate Pooler $pooler (not created yet?); PgBouncer keeps the old bundle until it restarts"
    fi
  done
}

# watch NAMESPACE KIND NAME: one line per event on the object (the first is its current state),
# then `ended NAME STATUS` when the watch ends. kubectl watches a single named object with the
# field selector metadata.name=NAME, which RBAC allows with resourceNames.
watch_object() {
  $KUBECTL -n "$1" get "$2" "$3" --watch \
    -o 'jsonpath={.metadata.name} {.metadata.resourceVersion}{"\n"}' &
  child=$!
  trap 'kill "$child" 2>/dev/null; exit 0' TERM
  watch_status=0
  wait "$child" || watch_status=$?
  echo "ended $3 $watch_status"
}

run() {
  require NAMESPACE CLUSTER_CA_SECRET CLUSTER_CA_KEY TELEPORT_CA_SECRET TELEPORT_CA_KEY TARGET_SECRET
  events=$(mktemp -d "${TMPDIR:-/tmp}/ca-bundle-events.XXXXXX")
  mkfifo "$events/fifo"
  # Read-write keeps the FIFO open whatever the writers do.
  exec 3<>"$events/fifo"
  watchers=
  for secret in "$CLUSTER_CA_SECRET" "$TELEPORT_CA_SECRET" "$TARGET_SECRET"; do
    watch_object "$NAMESPACE" secret "$secret" >&3 &
    watchers="$watchers $!"
  done
  if [ -n "${TELEPORT_DATABASES:-}" ]; then
    watch_object "$NAMESPACE" secret "$SERVER_CA_SECRET" >&3 &
    watchers="$watchers $!"
    for database in $TELEPORT_DATABASES; do
      watch_object "$TELEPORT_NAMESPACE" "$TELEPORT_DATABASE" "$database" >&3 &
      watchers="$watchers $!"
    done
    log "also keeping the server CA of Secret $SERVER_CA_SECRET in TeleportDatabaseV3 $TELEPORT_DATABASES ($TELEPORT_NAMESPACE)"
  fi
  trap 'kill $watchers 2>/dev/null; rm -rf "$events"; exit 0' TERM INT
  log "watching Secrets $CLUSTER_CA_SECRET, $TELEPORT_CA_SECRET and $TARGET_SECRET in $NAMESPACE"
  while IFS= read -r event <&3; do
    case $event in
      "ended "*)
        set -- $event
        log "the watch on $2 ended (kubectl status $3); exiting so Kubernetes restarts the container"
        kill $watchers 2>/dev/null || true
        rm -rf "$events"
        exit 1
        ;;
      *) once || log "sync failed; retrying on the next change" ;;
    esac
  done
}

case ${1:-} in
  bundle)
    shift
    [ $# -ge 1 ] || {
      echo "usage: sync.sh bundle FILE..." >&2
      exit 2
    }
    for file; do
      set -- "$@" "$file" "$file"
      shift
    done
    merge "$@"
    ;;
  once) once ;;
  run) run ;;
  *)
    echo "usage: sync.sh bundle FILE... | once | run" >&2
    exit 2
    ;;
esac
