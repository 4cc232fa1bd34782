#!/usr/bin/env bash
# The GPU checks, run on a machine with a GPU from a bundle made by tests/gpu/bundle.sh:
# the kernel and device-collective tests, the perf tools on device buffers with 4 ranks
# sharing GPU 0 (#wrong must be 0), and torch.distributed with backend "nccl" on
# Braid's libnccl.so.2. Each step has its own time limit; the log of each lands in
# OUT_DIR, with, for a step that reaches its limit, what each of its threads waits in.
# Exits non-zero if any step failed.
#
# usage: tests/gpu/device_checks.sh BUNDLE_DIR [OUT_DIR] [STEPS...]
#   STEPS: any of tests perf torch accept ipc accept_ipc (default: the first three).
#   accept is the sweep of issue 8's acceptance, every type and op from 8 B up to the
#   1 GiB limit by factors of 4 (so 512 MiB at most), each size checked, on the default (staged) path; ipc runs the device tests and the
#   perf tools again on the GPU path (BRAID_CUDA_IPC=1); accept_ipc is the sweep there.
#   The sweeps time 2 iterations after 1 warm-up, not nccl-tests' 20 after 5: every
#   size, type and op is still run and checked. Staged, that is still far beyond their
#   limits on the H200 machine lent here, whose host memory copies at about 26 GB/s
#   (all-reduce reached uint8 avg in 240 s of 72 type-op pairs): accept_ipc is the
#   sweep that fits a session's device time, once the IPC path runs.
set -uo pipefail
bundle=$(cd "$1" && pwd)
out=${2:-${OUT:-/tmp/gpu-checks}}
shift $(($# >= 2 ? 2 : $#))
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(tests perf torch)
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin=$bundle/bin
status=0

# What every thread of process group $1 is doing: for a step that hangs, before it is
# ended. A CUDA call stuck in the driver shows as a thread blocked in an ioctl (wchan),
# and Braid's log names the call (core/call_watch.h); gdb shows more, or cuda-gdb where
# only the CUDA toolkit's debugger is installed (as on the GPU machines lent here).
dump_stacks() {
  local group=$1 p t
  echo "== $(date +%T) the step's processes at its time limit:"
  for p in $(pgrep -g "$group"); do
    echo "-- pid $p: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)"
    for t in /proc/$p/task/*; do
      echo "   thread ${t##*/} $(cat "$t/comm" 2>/dev/null) waits in $(cat "$t/wchan" 2>/dev/null)"
      sed 's/^/      /' "$t/stack" 2>/dev/null | head -12
    done
    # Bounded: gdb may wait as long as the process it attaches to (device time is short).
    local debugger
    debugger=$(command -v gdb || command -v cuda-gdb || ls /usr/local/cuda/bin/cuda-gdb 2>/dev/null) &&
      timeout -k 2 10 "$debugger" -p "$p" -batch -nx -ex 'thread apply all bt' 2>&1 | grep -E '^(Thread|#)'
  done
}

# Whether process $1 ends within $2 seconds.
ends_within() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  ! kill -0 "$1" 2>/dev/null
}

# step NAME LIMIT_SECONDS CMD...: runs it in its own process group (a background job of
# a shell without job control is no group leader, so setsid does not fork and $! is the
# group), keeps its output in OUT_DIR/NAME.log; at the limit, dumps its threads' stacks
# there and ends the group. What the group left running is ended either way.
step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS rc
  setsid "$@" >"$out/$name.log" 2>&1 &
  local pid=$!
  if ends_within "$pid" "$limit"; then
    wait "$pid"
    rc=$?
  else
    dump_stacks "$pid" >>"$out/$name.log" 2>&1
    kill -TERM -- "-$pid" 2>/dev/null
    ends_within "$pid" 5 || kill -KILL -- "-$pid" 2>/dev/null
    # A thread in an uninterruptible driver call outlives even SIGKILL: go on without it.
    if ends_within "$pid" 10; then wait "$pid" 2>/dev/null; else echo "== $name: pid $pid does not end, even killed"; fi
    rc=124
  fi
  kill -KILL -- "-$pid" 2>/dev/null
  echo "== $name: exit $rc in $((SECONDS - start)) s"
  [ $rc -eq 0 ] || { status=1; tail -n 25 "$out/$name.log"; }
}

# perf NAME LIMIT TOOL ARGS...: a perf tool under braidrun -n 4, every rank on GPU 0.
perf() {
  local name=$1 limit=$2 tool=$3
  shift 3
  step "$name" "$limit" "$bin/braidrun" -n 4 "$bin/$tool" "$@"
  grep -E '^# (Out of bounds|Avg bus|Memory bound)|Rank  0|FAILED' "$out/$name.log" | head -6
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
for s in "${steps[@]}"; do
  case $s in
    tests)
      for t in "$bin"/braid_gpu_*tests; do step "$(basename "$t")" 120 "$t" --gtest_brief=1; done
      grep -hE '^\[  (PASSED|FAILED|SKIPPED) ' "$out"/braid_gpu_*.log
      ;;
    perf)
      # Every type and op up to 16 MiB, then float sums up to 1 GiB for the bandwidth.
      perf all_reduce_all_types 120 all_reduce_perf -b 8 -e 16M -f 4 -d all -o all -c 1 -n 5 -w 1
      perf all_reduce_1G 90 all_reduce_perf -b 8 -e 1G -f 4 -c 1 -n 10
      perf all_gather_1G 60 all_gather_perf -b 8 -e 1G -f 4 -c 1 -n 10
      perf reduce_scatter_1G 60 reduce_scatter_perf -b 8 -e 1G -f 4 -c 1 -n 10
      ;;
    ipc)
      # A hang ends in a timeout report within the step's limit: whether a GPU copy never
      # completed or a control message never came shows in its cudaipc counters.
      # The topology with a real driver (NVML's NVLink lanes) and the GPU tuner's table.
      step probe_topology 30 "$bin/braid-probe"
      grep -A3 '^GPUs:' "$out/probe_topology.log"
      step probe_decisions 30 "$bin/braid-probe" --decisions --ranks 4
      grep -A3 '^# calls on GPU buffers' "$out/probe_decisions.log"
      export BRAID_CUDA_IPC=1 BRAID_TIMEOUT=30s
      step braid_gpu_device_tests_ipc 120 "$bin/braid_gpu_device_tests" --gtest_brief=1
      # Kernels loaded eagerly by CUDA itself: if this passes where the one above hangs,
      # Braid's own loading (reduce::loadDeviceKernels) is not enough.
      CUDA_MODULE_LOADING=EAGER step braid_gpu_device_tests_ipc_eager 120 "$bin/braid_gpu_device_tests" --gtest_brief=1
      grep -hE '^\[  (PASSED|FAILED|SKIPPED) ' "$out"/braid_gpu_device_tests_ipc*.log
      perf ipc_all_reduce_all_types 120 all_reduce_perf -b 8 -e 16M -f 4 -d all -o all -c 1 -n 5 -w 1
      perf ipc_all_reduce_1G 90 all_reduce_perf -b 8 -e 1G -f 4 -c 1 -n 10
      # The staged path at one size, for the ratio.
      BRAID_CUDA_IPC=0 perf staged_all_reduce_256M 60 all_reduce_perf -b 256M -e 256M -c 1 -n 5
      unset BRAID_CUDA_IPC BRAID_TIMEOUT
      ;;
    accept)
      perf accept_all_reduce 240 all_reduce_perf -b 8 -e 1G -f 4 -d all -o all -c 1 -w 1 -n 2
      perf accept_all_gather 90 all_gather_perf -b 8 -e 1G -f 4 -d all -c 1 -w 1 -n 2
      perf accept_reduce_scatter 150 reduce_scatter_perf -b 8 -e 1G -f 4 -d all -o all -c 1 -w 1 -n 2
      ;;
    accept_ipc)
      export BRAID_CUDA_IPC=1 BRAID_TIMEOUT=60s
      perf ipc_accept_all_reduce 240 all_reduce_perf -b 8 -e 1G -f 4 -d all -o all -c 1 -w 1 -n 2
      perf ipc_accept_all_gather 90 all_gather_perf -b 8 -e 1G -f 4 -d all -c 1 -w 1 -n 2
      perf ipc_accept_reduce_scatter 150 reduce_scatter_perf -b 8 -e 1G -f 4 -d all -o all -c 1 -w 1 -n 2
      unset BRAID_CUDA_IPC BRAID_TIMEOUT
      ;;
    torch)
      step torch_nccl 150 env LD_PRELOAD="$bundle/lib/libnccl.so.2" python3 "$here/torch_nccl_check.py" 2 4
      tail -n 12 "$out/torch_nccl.log"
      ;;
    *) echo "unknown step '$s'" >&2; status=2 ;;
  esac
done
exit $status
