#!/usr/bin/env bash
# braid-probe end to end: the topology as JSON, the tuner's table on this machine and on
# a two-socket DGX file (they must differ), calibrations on real 3- and 2-rank jobs that
# the tuner then reads back, and clear failures for bad input.
set -euo pipefail
probe=$1 braidrun=$2 dgx=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Settings from the caller's shell would change every report below.
unset BRAID_TOPO_FILE BRAID_TUNING_FILE BRAID_ALGO BRAID_CHUNK BRAID_TRANSPORTS BRAID_HOST_ID NCCL_ALGO
fail() { echo "FAIL: $*"; exit 1; }

# 1. The topology: valid JSON naming this host, and the text form's sections.
"$probe" --json > "$tmp/topo.json"
python3 -m json.tool "$tmp/topo.json" > /dev/null || fail "--json is not valid JSON"
python3 - "$tmp/topo.json" <<'PY' || fail "--json does not name this host"
import json, socket, sys
topo = json.load(open(sys.argv[1]))
sys.exit(0 if topo["host_name"] == socket.gethostname() else 1)
PY
"$probe" > "$tmp/topo.txt"
for section in "host $(hostname)" "NUMA nodes:" "caches:" "GPUs:" "NICs:"; do
  grep -q "^$section" "$tmp/topo.txt" || fail "topology text lacks '$section'"
done

# 2. Decisions: one row per collective and size, and a two-socket node with 400 Gb/s
# NICs must not be tuned like this machine. A topology with GPUs adds a table for calls
# on GPU buffers, which must tell the DGX's NVLink from the same node with PCIe only.
table() {  # the rows of --decisions' first table (host buffers), or with "gpu" its GPU table
  if [ "${1:-}" = gpu ]; then sed -n '/^# calls on GPU buffers/,$p'; else sed '/^$/q'; fi | grep -v '^#' | sed '/^$/d'
}
"$probe" --decisions --ranks 32 --ranks-per-node 8 > "$tmp/here-all.txt"
"$probe" --decisions --ranks 32 --ranks-per-node 8 --topo "$dgx" > "$tmp/dgx-all.txt"
table < "$tmp/here-all.txt" > "$tmp/here.txt"
table < "$tmp/dgx-all.txt" > "$tmp/dgx.txt"
# One node of 8 GPUs: across nodes the network would set the pace on both.
"$probe" --decisions --ranks 8 --topo "$dgx" | table gpu > "$tmp/dgx-gpu.txt"
python3 - "$dgx" "$tmp/pcie.json" <<'PY'
import json, sys
topo = json.load(open(sys.argv[1]))
for gpu in topo["gpus"]:
    gpu["nvlink_peers"], gpu["nvlink_gbps"] = [], 0
json.dump(topo, open(sys.argv[2], "w"))
PY
"$probe" --decisions --ranks 8 --topo "$tmp/pcie.json" | table gpu > "$tmp/pcie-gpu.txt"
grep -q "nvlink 450 GB/s to 7 GPU(s)" <("$probe" --topo "$dgx") || fail "the DGX topology text does not show NVLink"
for table in here dgx dgx-gpu pcie-gpu; do
  rows=$(wc -l < "$tmp/$table.txt")
  [ "$rows" -eq 37 ] || fail "$table decision table has $rows lines, expected a header and 36 rows"
done
if diff -q "$tmp/here.txt" "$tmp/dgx.txt" > /dev/null; then
  fail "the DGX topology gets the same decisions as this machine"
fi
echo "decisions differ on $(diff "$tmp/here.txt" "$tmp/dgx.txt" | grep -c '^<') of 36 rows"
# NVLink moves 256 MiB far faster than PCIe: compare the predicted times.
python3 - "$tmp/dgx-gpu.txt" "$tmp/pcie-gpu.txt" <<'PY' || fail "GPU decisions do not price NVLink above PCIe"
import sys
def us(path):
    return {(r.split()[0], r.split()[1]): float(r.split()[4]) for r in open(path).read().splitlines()[1:]}
nvlink, pcie = us(sys.argv[1]), us(sys.argv[2])
ratio = pcie[("all-reduce", "256M")] / nvlink[("all-reduce", "256M")]
print("GPU tables: 256M all-reduce predicted %.1fx faster over NVLink than over PCIe" % ratio)
sys.exit(0 if ratio > 5 else 1)
PY
[ -z "$(table gpu < "$tmp/here-all.txt")" ] || grep -q "^GPUs: [1-9]" "$tmp/topo.txt" ||
  fail "a GPU table for a machine without GPUs"

# 3. The transport model on the DGX file: shm within a node (both sockets), tcp across.
"$probe" --transports --ranks 32 --ranks-per-node 8 --topo "$dgx" > "$tmp/model.txt"
for class in "same-numa +shm" "same-host +shm" "network +tcp"; do
  grep -Eq "^$class " "$tmp/model.txt" || fail "transport model lacks '$class'"
done

# 4. Calibration on a 3-rank job, then on a 2-rank one into the same file: link costs,
# and each algorithm timed per job shape; the tuner then picks what was measured.
"$braidrun" -n 3 "$probe" --calibrate "$tmp/tuning.json" > "$tmp/calibrate3.txt"
"$braidrun" -n 2 "$probe" --calibrate "$tmp/tuning.json" > "$tmp/calibrate.txt"
grep -q "link class same-numa" "$tmp/calibrate.txt" || fail "calibration did not measure the same-numa link"
grep -q "algorithms timed on this job: 3 ranks on 1 host" "$tmp/calibrate3.txt" || fail "no algorithm timings at 3 ranks"
python3 - "$tmp/tuning.json" <<'PY' || fail "tuning file lacks a field, a measured row, or holds a number that is not positive"
import json, sys
t = json.load(open(sys.argv[1]))
numbers = [v for link in t["links"].values() for v in link.values()] + [t["reduce_gb_per_s"]]
rows = t["measured"]
for ranks in (2, 3):
    for coll, algos in (("allreduce", {"ring", "tree", "hd"}), ("allgather", {"ring", "rd", "bruck"}),
                        ("reducescatter", {"ring", "hd"})):
        seen = {r["algorithm"] for r in rows if r["ranks"] == ranks and r["collective"] == coll and r["bytes"] <= 1024}
        if seen != algos:
            sys.exit("ranks %d %s: timed %s, expected %s" % (ranks, coll, sorted(seen), sorted(algos)))
sys.exit(0 if len(t["links"]) == 7 and all(v > 0 for v in numbers + [r["us"] for r in rows]) else 1)
PY
BRAID_TUNING_FILE="$tmp/tuning.json" "$probe" --decisions --ranks 3 > "$tmp/tuned.txt"
grep -q "cost model: BRAID_TUNING_FILE=$tmp/tuning.json" "$tmp/tuned.txt" || fail "--decisions ignored BRAID_TUNING_FILE"
grep -Eq "^all-reduce +64K .* measured$" "$tmp/tuned.txt" || fail "64K all-reduce at 3 ranks not decided by measurement"
grep -Eq "^all-reduce +16M .* cost model$" "$tmp/tuned.txt" || fail "16M (never measured) not left to the model"

# 5. Clear errors with a non-zero exit, naming what was wrong.
expect_error() {  # expected text, then the command
  local expected=$1
  shift
  if "$@" > /dev/null 2> "$tmp/err.txt"; then fail "'$*' succeeded"; fi
  grep -qF -- "$expected" "$tmp/err.txt" || fail "'$*' did not say '$expected': $(cat "$tmp/err.txt")"
}
echo '{"format": "braid-topology/1", "host_id": "x"}' > "$tmp/bad.json"
expect_error "--topo: $tmp/bad.json: topology JSON: host_name" "$probe" --decisions --topo "$tmp/bad.json"
expect_error "--topo: topology file '$tmp/missing.json' cannot be read" "$probe" --topo "$tmp/missing.json"
expect_error "braidrun -n N" "$probe" --calibrate "$tmp/alone.json"
expect_error "--ranks: 'lots'" "$probe" --decisions --ranks lots
# A setting a communicator would refuse: --env still lists the values, and says which.
expect_error "BRAID_CHUNK: 'lots' is not a size" env BRAID_CHUNK=lots "$probe" --decisions
expect_error "BRAID_CHECK: 'maybe' is not one of" env BRAID_CHECK=maybe "$probe" --env
BRAID_CHECK=maybe "$probe" --env > "$tmp/env.txt" 2> /dev/null || true
grep -q "^BRAID_CHECK *= 'maybe'" "$tmp/env.txt" || fail "--env hid a bad value"
echo "braid-probe checks passed"
