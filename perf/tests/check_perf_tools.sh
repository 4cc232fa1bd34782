#!/usr/bin/env bash
# Checks the perf tools end to end: each tool runs under braidrun on small sizes, every
# type and op, over shm and tcp; its output must be nccl-tests' format column for column,
# every checked #wrong 0 and its exit status 0. Then a run with PERF_CORRUPT_FOR_TEST=1
# (rank 0 flips one result element before checking) must be caught: #wrong > 0, a
# FAILED footer and a non-zero exit, which shows that the check can fail at all.
# Bad flags must exit 2, -c 0 must print N/A, -J must write valid JSON, and the footer
# must state the memory bound (perf/common/memory_bound.h).
#
# usage: check_perf_tools.sh [BUILD_DIR]      (default: $BUILD_DIR, else ./build)
# env:   NP (ranks, default 4), TRANSPORTS (default "shm tcp"), TOOLS (default: all 7)
# Exits 0 when everything passed, 1 otherwise (each failure is printed).
set -u

BUILD=${1:-${BUILD_DIR:-build}}
BRAIDRUN=$BUILD/tools/braidrun
NP=${NP:-4}
TRANSPORTS=${TRANSPORTS:-"shm tcp"}
TOOLS=${TOOLS:-"all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv"}
# A guard against hangs: a stuck collective must fail the check, not stall the suite.
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ ! -x $BRAIDRUN ]]; then
  echo "FAIL: no braidrun at $BRAIDRUN (pass the build directory)" >&2
  exit 1
fi
for t in $TOOLS; do
  [[ -x $BUILD/perf/${t}_perf ]] || { echo "FAIL: no $BUILD/perf/${t}_perf" >&2; exit 1; }
done

# The column header, byte for byte as nccl-tests prints it.
HEADER1='#                                                              out-of-place                       in-place          '
HEADER2='#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong'
HEADER3='#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       '

reduces() { [[ $1 == all_reduce || $1 == reduce_scatter || $1 == reduce ]]; }
rooted() { [[ $1 == broadcast || $1 == reduce ]]; }
# The size column is the whole buffer where nccl-tests says so, the count per rank/peer.
size_multiplier() { case $1 in all_gather | reduce_scatter | alltoall) echo "$2" ;; *) echo 1 ;; esac; }

# Number of sizes the sweep -b MIN -e MAX -f FACTOR visits.
count_sizes() {
  local s=$1 n=0
  while ((s <= $2)); do n=$((n + 1)); s=$((s * $3)); done
  echo "$n"
}

# check_output FILE TOOL TRANSPORT NP ROWS MAXBYTES MINBYTES FACTOR MODE
# MODE: ok (every checked #wrong 0), corrupt (some #wrong > 0), nocheck (-c 0: all N/A).
check_output() {
  local file=$1 tool=$2 tr=$3 np=$4 rows=$5 maxb=$6 minb=$7 factor=$8 mode=$9
  local what="$tool ($tr, $np ranks, $mode)"
  local validation=1
  [[ $mode == nocheck ]] && validation=0
  local want1="# nThread 1 nGpus 1 minBytes $minb maxBytes $maxb step: $factor(factor) warmup iters: 1 iters: 2 agg iters: 1 validation: $validation graph: 0"
  [[ $(sed -n 1p "$file") == "$want1" ]] || fail "$what: first header line is '$(sed -n 1p "$file")'"
  [[ $(sed -n 2p "$file") == "#" && $(sed -n 3p "$file") == "# Using devices" ]] || fail "$what: no '# Using devices' block"
  local r
  for ((r = 0; r < np; r++)); do
    local line
    line=$(sed -n "$((4 + r))p" "$file")
    [[ $line =~ ^#\ \ Rank\ +$r\ Group\ +0\ Pid\ +[0-9]+\ on\ +[^\ ]+\ device\ +[0-9]+\ \[host\]\ transport\ $tr$ ]] ||
      fail "$what: device line $r is '$line'"
  done
  local h=$((4 + np))
  [[ $(sed -n "${h}p" "$file") == "#" ]] || fail "$what: no '#' after the devices"
  [[ $(sed -n "$((h + 1))p" "$file") == "$HEADER1" ]] || fail "$what: column header line 1 differs"
  [[ $(sed -n "$((h + 2))p" "$file") == "$HEADER2" ]] || fail "$what: column header line 2 differs"
  [[ $(sed -n "$((h + 3))p" "$file") == "$HEADER3" ]] || fail "$what: column header line 3 differs"

  # Rows: fixed columns, checked by position (nccl-tests' widths), then their contents.
  # Every tool checks both placements (in-place sendrecv included: Braid stages a send
  # that a receive of the same group overwrites).
  local inplace_na=0
  local report
  report=$(tail -n +"$((h + 4))" "$file" | grep -v '^#' | awk -v np="$np" -v mult="$(size_multiplier "$tool" "$np")" \
    -v red="$(reduces "$tool" && echo 1 || echo 0)" -v rooted="$(rooted "$tool" && echo 1 || echo 0)" \
    -v mode="$mode" -v inplace_na="$inplace_na" '
    BEGIN {
      split("int8:1 uint8:1 int32:4 uint32:4 int64:8 uint64:8 half:2 float:4 double:8 bfloat16:2 f8e4m3:1 f8e5m2:1", t, " ")
      for (i in t) { split(t[i], kv, ":"); tsize[kv[1]] = kv[2] }
      split("sum prod max min avg mulsum", o, " "); for (i in o) isop[o[i]] = 1
      bad = 0; rows = 0; wrongsum = 0; na = 0
    }
    function trim(s) { gsub(/^ +| +$/, "", s); return s }
    function err(msg) { if (bad++ < 5) print "row " NR ": " msg ": [" $0 "]" }
    function gap(at) { return substr($0, at, 2) == "  " }
    # Every column is right-aligned (printf %Ns): a field must not end in a space.
    function right(at, w) { if (substr($0, at + w - 1, 1) == " ") err("column at " at " not right-aligned") }
    function placement(at, inplace,   tm, v, dec, w) {
      if (!gap(at) || !gap(at + 9) || !gap(at + 17) || !gap(at + 25)) { err("column spacing"); return }
      right(at + 2, 7); right(at + 11, 6); right(at + 19, 6); right(at + 27, 5)
      tm = substr($0, at + 2, 7)
      if (tm !~ /^ *[0-9]+(\.[0-9]+)?$/) { err("time field"); return }
      v = trim(tm) + 0; dec = (index(tm, ".") ? length(tm) - index(tm, ".") : 0)
      # nccl-tests: 2 decimals below 100 us, 1 below 10000, none above (a value on a
      # boundary may print rounded up, e.g. 99.996 as 100.00).
      if ((dec == 2 && v > 100) || (dec == 1 && (v < 100 || v > 10000)) || (dec == 0 && v < 10000) || dec > 2) err("time precision")
      if (substr($0, at + 11, 6) !~ /^ *[0-9]+\.[0-9][0-9]$/) err("algbw field")
      if (substr($0, at + 19, 6) !~ /^ *[0-9]+\.[0-9][0-9]$/) err("busbw field")
      w = substr($0, at + 27, 5)
      if (w == "  N/A") {
        na++
        if (mode != "nocheck" && !(inplace && inplace_na)) err("#wrong N/A although checked")
      } else if (w ~ /^ *[0-9]+$/) {
        if (mode == "nocheck" || (inplace && inplace_na)) err("#wrong printed although not checked")
        wrongsum += w + 0
        if (mode == "ok" && w + 0 != 0) err("#wrong is not 0")
      } else err("#wrong field")
    }
    {
      rows++
      if (length($0) != 116) { err("row is " length($0) " characters, not 116") ; next }
      size = substr($0, 1, 12); count = substr($0, 15, 12); type = trim(substr($0, 29, 8))
      op = trim(substr($0, 39, 6)); root = substr($0, 47, 6)
      if (!gap(13) || !gap(27) || !gap(37) || !gap(45)) err("column spacing")
      right(1, 12); right(15, 12); right(29, 8); right(39, 6); right(47, 6)
      if (size !~ /^ *[0-9]+$/ || count !~ /^ *[0-9]+$/ || root !~ /^ *-?[0-9]+$/) err("size/count/root field")
      if (!(type in tsize)) err("unknown type " type)
      else if (size + 0 != (count + 0) * tsize[type] * mult) err("size is not count * type size * " mult)
      if (red && !(op in isop)) err("op " op)
      if (!red && op != "none") err("redop should be none")
      if (!rooted && root + 0 != -1) err("root should be -1")
      if (rooted && (root + 0 < 0 || root + 0 >= np)) err("root out of range")
      placement(53, 0); placement(85, 1)
    }
    END { printf "%d %d %d\n", rows, wrongsum, bad }')
  local got_rows wrong_sum bad_rows
  read -r got_rows wrong_sum bad_rows <<<"$(tail -n 1 <<<"$report")"
  if [[ $bad_rows != 0 ]]; then fail "$what: $bad_rows malformed rows"; head -n 5 <<<"$report" >&2; fi
  [[ $got_rows == "$rows" ]] || fail "$what: $got_rows rows, expected $rows"
  local oob
  oob=$(grep '^# Out of bounds values' "$file")
  case $mode in
    ok | nocheck) [[ $oob == "# Out of bounds values : 0 OK" ]] || fail "$what: footer says '$oob'" ;;
    corrupt)
      ((wrong_sum > 0)) || fail "$what: the corrupted element went unnoticed (#wrong all 0)"
      [[ $oob =~ ^#\ Out\ of\ bounds\ values\ :\ [1-9][0-9]*\ FAILED$ ]] || fail "$what: footer says '$oob'"
      ;;
  esac
  grep -Eq '^# Avg bus bandwidth    : [0-9.e+-]+ $' "$file" || fail "$what: no '# Avg bus bandwidth' footer"
  # Host-memory ranks on this one host share its memory: the bound names all of them.
  grep -Eq "^# Memory bound         : busbw <= [0-9]+\.[0-9]{2} GB/s: the host memory of [^ ]+ holds the buffers of $np ranks?, and copies there moved [0-9]+\.[0-9] GB/s \(read \+ write\) in this run; the average busbw is [0-9]+\.[0-9] % of the bound$" "$file" ||
    fail "$what: memory bound line is '$(grep '^# Memory bound' "$file")'"
  [[ $(tail -n 1 "$file") == "#" ]] || fail "$what: output does not end with '#'"
}

# run_tool TOOL TRANSPORT NP MODE MIN MAX FACTOR [extra flags...]: runs it, checks it.
run_tool() {
  local tool=$1 tr=$2 np=$3 mode=$4 minb=$5 maxb=$6 factor=$7
  shift 7
  local out=$tmp/$tool.$tr.$np.$mode.out err=$tmp/$tool.$tr.$np.$mode.err
  local ntypes=12 nops=1 nroots=1 corrupt=
  [[ $* == *"-d all"* ]] || ntypes=1
  if reduces "$tool" && [[ $* == *"-o all"* ]]; then nops=6; fi
  [[ $mode == corrupt ]] && corrupt=1
  local start=$SECONDS
  PERF_CORRUPT_FOR_TEST=$corrupt BRAID_TRANSPORTS=$tr timeout "$RUN_TIMEOUT" \
    "$BRAIDRUN" -n "$np" "$BUILD/perf/${tool}_perf" -b "$minb" -e "$maxb" -f "$factor" -n 2 -w 1 "$@" >"$out" 2>"$err"
  local rc=$?
  local what="$tool ($tr, $np ranks, $mode)"
  echo "ran $what in $((SECONDS - start))s, exit $rc"
  if [[ $mode == corrupt ]]; then
    ((rc != 0)) || fail "$what: exit status 0 although an element was corrupted"
  elif ((rc != 0)); then
    fail "$what: exit status $rc"
    head -n 20 "$err" >&2
  fi
  local rows=$(($(count_sizes "$minb" "$maxb" "$factor") * ntypes * nops * nroots))
  check_output "$out" "$tool" "$tr" "$np" "$rows" "$maxb" "$minb" "$factor" "$mode"
}

for tr in $TRANSPORTS; do
  for tool in $TOOLS; do
    # Every type and op, 8 B to 512 KiB: past the default 512K pipeline slice for the
    # whole-buffer collectives, and small enough to keep the suite quick.
    run_tool "$tool" "$tr" "$NP" ok 8 524288 16 -d all -o all
    # Sizes that are no multiple of the element size or the rank count, on 3 ranks.
    run_tool "$tool" "$tr" 3 ok 7 6727 31 -d all -o all
  done
done

first_tr=${TRANSPORTS%% *}
for tool in $TOOLS; do
  run_tool "$tool" "$first_tr" "$NP" corrupt 8 8192 4 -d float -o sum
  run_tool "$tool" "$first_tr" 2 corrupt 8 8192 4 -d f8e5m2 -o avg
done

# -c 0: nothing checked, every #wrong N/A.
run_tool all_reduce "$first_tr" "$NP" nocheck 8 4096 8 -c 0

# -J: the JSON must parse and hold one result per row.
json=$tmp/perf.json
if BRAID_TRANSPORTS=$first_tr timeout "$RUN_TIMEOUT" "$BRAIDRUN" -n "$NP" "$BUILD/perf/reduce_perf" -b 64 -e 4096 -f 4 \
  -n 2 -w 1 -d all -o all -r -1 -J "$json" >"$tmp/json.out" 2>&1; then
  if command -v python3 >/dev/null; then
    python3 - "$json" "$NP" <<'EOF' || fail "reduce_perf -J: JSON invalid or incomplete"
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert d["tool"] == "reduce_perf" and d["nranks"] == n and len(d["devices"]) == n
assert len(d["results"]) == 4 * 12 * 6 * n, len(d["results"])
assert all(r[p]["wrong"] == 0 for r in d["results"] for p in ("out_of_place", "in_place"))
assert d["ok"] is True and d["out_of_bounds"] == 0
assert d["memory_bound_busbw_GBps"] > 0, d["memory_bound_busbw_GBps"]
EOF
  else
    [[ -s $json ]] || fail "reduce_perf -J wrote nothing"
  fi
else
  fail "reduce_perf -J run failed"
  head -n 20 "$tmp/json.out" >&2
fi

# Bad flags: a clear message and exit status 2, before any communicator exists.
for args in "--bogus" "-x 1" "-d float17" "-o sumx" "-b 1X" "-n 0" "-b 1M -e 1K" "-a 7" "-c" "extra"; do
  # shellcheck disable=SC2086
  "$BUILD/perf/all_reduce_perf" $args >"$tmp/usage.out" 2>"$tmp/usage.err"
  rc=$?
  [[ $rc == 2 ]] || fail "all_reduce_perf $args: exit status $rc, expected 2"
  [[ -s $tmp/usage.err ]] || fail "all_reduce_perf $args: no error message"
done
BRAID_TRANSPORTS=$first_tr timeout "$RUN_TIMEOUT" "$BRAIDRUN" -n 2 "$BUILD/perf/broadcast_perf" -b 8 -e 8 -r 2 \
  >/dev/null 2>&1
rc=$?
[[ $rc == 2 ]] || fail "broadcast_perf -r 2 on 2 ranks: exit status $rc, expected 2"

if ((failures)); then
  echo "check_perf_tools: $failures failure(s)" >&2
  exit 1
fi
echo "check_perf_tools: all passed"
