#!/usr/bin/env bash
# Whole-process benchmarks of the release binary (issue 7): wall time with hyperfine and peak
# RSS with GNU time, for one database (defaults, values/production.yaml) and for fleets of 10,
# 100 and 1000 generated databases rendered by one `cnpgtp render DIR...` process.
# In-process stage timings are `cargo bench --bench render`; results are in BENCHMARKS.md.
#
# Usage: scripts/bench.sh [--no-build]
# Environment: RUNS (default 100: runs per single-database case; fleets use fewer),
#              CNPGTP (binary to time; default target/release/cnpgtp),
#              HELM and HELM_CHART (optional: also time `$HELM template x $HELM_CHART`),
#              OUT (keep hyperfine's JSON exports and log there; default a temp dir).
set -euo pipefail

cd "$(dirname "$0")/.."
build=1
[[ "${1:-}" == "--no-build" ]] && build=0
runs=${RUNS:-100}
bin=${CNPGTP:-target/release/cnpgtp}

# Tools: hyperfine and GNU time (Debian packages of the same names).
if ! command -v hyperfine >/dev/null || [[ ! -x /usr/bin/time ]]; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        { apt-get update -qq && apt-get install -y -qq hyperfine time; } >/dev/null ||
            echo "bench.sh: could not install hyperfine/time; falling back where possible" >&2
    fi
fi
have_hyperfine=0
command -v hyperfine >/dev/null && have_hyperfine=1
if [[ ! -x /usr/bin/time ]]; then
    echo "bench.sh: /usr/bin/time (Debian package 'time') is required for peak RSS" >&2
    exit 1
fi

if [[ $build == 1 ]]; then
    cargo build --release --quiet
fi
[[ -x $bin ]] || { echo "bench.sh: $bin not found (run cargo build --release)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cnpgtp-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work/results}
mkdir -p "$out"

# Fleets: fleet-N/db-XXXX/values.yaml, each with its own name (the directory name would be
# the default too) and one of ten namespaces.
for n in 10 100 1000; do
    for ((i = 0; i < n; i++)); do
        db=$(printf 'db-%04d' "$i")
        mkdir -p "$work/fleet-$n/$db"
        printf 'name: %s\nnamespace: team-%d\n' "$db" $((i % 10)) >"$work/fleet-$n/$db/values.yaml"
    done
done
fleet_args() { printf '%s ' "$work/fleet-$1"/db-*; }

# label | runs | command (word-split; no quoting needed for these paths)
cases=(
    "version|$runs|$bin --version"
    "defaults|$runs|$bin render"
    "production|$runs|$bin render -f values/production.yaml"
    "fleet-10|$((runs / 2 > 10 ? runs / 2 : 10))|$bin render $(fleet_args 10)"
    "fleet-100|20|$bin render $(fleet_args 100)"
    "fleet-1000|10|$bin render $(fleet_args 1000)"
)
if [[ -n "${HELM:-}" && -n "${HELM_CHART:-}" ]]; then
    cases+=("helm-template|$((runs / 2 > 10 ? runs / 2 : 10))|$HELM template appdb $HELM_CHART")
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary:  $bin ($(stat -c %s "$bin") bytes), $("$bin" --version)"
echo

# Peak RSS: median and max of 5 runs of /usr/bin/time -f %M (KiB; the "Maximum resident set
# size" of time -v).
peak_rss() {
    local -a samples=()
    for _ in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        samples+=("$(/usr/bin/time -f '%M' $1 2>&1 >/dev/null | tail -n1)")
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f", a[int((NR+1)/2)]/1024, a[NR]/1024}'
}

# Fallback timer without hyperfine: median, min and max wall time (ms) of N runs (bash 5
# EPOCHREALTIME, microseconds; includes bash's fork+exec, so slightly above hyperfine -N).
loop_time() {
    local n=$1 cmd=$2
    local -a samples=()
    for ((i = 0; i < n; i++)); do
        local start end
        start=${EPOCHREALTIME/./}
        # shellcheck disable=SC2086
        $cmd >/dev/null
        end=${EPOCHREALTIME/./}
        samples+=("$((end - start))")
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f %.2f", a[int((NR+1)/2)]/1000, a[1]/1000, a[NR]/1000}'
}

printf '| case | runs | median ms | mean ± σ ms | min … max ms | peak RSS MiB (median, max of 5) |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for entry in "${cases[@]}"; do
    IFS='|' read -r label n cmd <<<"$entry"
    # One plain run first: a failing command stops the script (set -e), and its output is kept
    # for the summary below.
    # shellcheck disable=SC2086
    $cmd >"$work/$label.out"
    rss=$(peak_rss "$cmd")
    if [[ $have_hyperfine == 1 ]]; then
        hyperfine -N --warmup 5 --runs "$n" --style none --export-json "$out/$label.json" \
            -- "$cmd" >/dev/null 2>>"$out/hyperfine.log"
        stats=$(python3 - "$out/$label.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda s: s * 1000
print(f"{ms(r['median']):.2f}|{ms(r['mean']):.2f} ± {ms(r['stddev'] or 0):.2f}|{ms(r['min']):.2f} … {ms(r['max']):.2f}")
EOF
        )
    else
        read -r med lo hi <<<"$(loop_time "$n" "$cmd")"
        stats="$med|n/a|$lo … $hi"
    fi
    IFS='|' read -r median mean range <<<"$stats"
    read -r rss_med rss_max <<<"$rss"
    printf '| %s | %s | %s | %s | %s | %s, %s |\n' "$label" "$n" "$median" "$mean" "$range" "$rss_med" "$rss_max"
done
echo
for n in 10 100 1000; do
    echo "fleet-$n output: $(grep -c '^---' "$work/fleet-$n.out") documents, $(wc -c <"$work/fleet-$n.out") bytes"
done
[[ -n "${OUT:-}" ]] && echo "hyperfine exports in $out"
exit 0
