"""Runs one measurement (a system, a collective, a rank count, a size) and reads its
busbw back, plus the STREAM run and what can be said about the machine.

Every system is started as a separate job per size so that a crash or a hang costs one
cell of the table, not the run; each job's JSON goes to a scratch directory."""

import functools
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

COLLS = ("all_reduce", "all_gather", "reduce_scatter")


class Paths:
    """Where the binaries are: Braid's perf tools, braidrun, the baselines, mpirun."""

    def __init__(self, repo, braid_perf, braidrun, baselines):
        self.repo = repo
        self.braid_perf = braid_perf
        self.braidrun = braidrun
        self.baselines = baselines
        self.mpirun = shutil.which("mpirun")

    def exe(self, directory, name):
        path = os.path.join(directory, name)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


class System:
    """One column of the table: how to start it and which collectives it has."""

    def __init__(self, name, family, colls, transport, describe):
        self.name = name
        self.family = family  # "braid", "mpi" or "gloo"
        self.colls = colls
        self.transport = transport
        self.describe = describe

    def missing(self, paths, coll):
        """Why this system cannot run coll here, or None when it can."""
        if coll not in self.colls:
            return "n/a"
        if self.family == "braid":
            if not paths.exe(paths.braid_perf, coll + "_perf"):
                return "not built"
            if not os.access(paths.braidrun or "", os.X_OK):
                return "no braidrun"
        elif self.family == "mpi":
            if not paths.exe(paths.baselines, "mpi_coll_bench"):
                return "not built"
            if not paths.mpirun:
                return "no mpirun"
        elif self.family == "gloo":
            if not paths.exe(paths.baselines, "gloo_bench"):
                return "not built"
            if not os.access(paths.braidrun or "", os.X_OK) and not paths.mpirun:
                return "no launcher"
        return None

    def command(self, paths, coll, size, nranks, iters, warmup, check, json_path, scratch):
        """The argv and the environment additions of one job."""
        sweep = ["-b", str(size), "-e", str(size), "-n", str(iters), "-w", str(warmup)]
        if self.family == "braid":
            tool = paths.exe(paths.braid_perf, coll + "_perf")
            # -c 0: Braid's checked runs are extra calls; the timing is the same without them.
            argv = [paths.braidrun, "-n", str(nranks), tool] + sweep + ["-c", "0"]
            if supports_json(tool):
                argv += ["-J", json_path]  # otherwise parse_result reads the stdout table
            env = {"BRAID_TRANSPORTS": self.transport}
            if self.transport == "tcp":
                env["BRAID_SOCKET_IFNAME"] = "lo"  # the loopback, as Open MPI's tcp is told below
            return argv, env
        if self.family == "mpi":
            argv = [paths.mpirun]
            if os.geteuid() == 0:
                argv.append("--allow-run-as-root")
            # --bind-to none: braidrun does not pin its ranks, so neither does this; and
            # --oversubscribe lets 4 ranks share 2 cores. ob1 is the PML that uses BTLs, so
            # naming the BTL really picks the transport (cm/ucx would bypass it).
            argv += ["--oversubscribe", "--bind-to", "none", "-np", str(nranks), "--mca", "pml", "ob1"]
            if self.transport == "vader":
                argv += ["--mca", "btl", "self,vader"]
            else:
                argv += ["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"]
            argv += [paths.exe(paths.baselines, "mpi_coll_bench")] + sweep
            argv += ["-c", str(check), "-C", coll, "-J", json_path, "--label", self.name]
            return argv, {}
        # Gloo: a fresh FileStore directory per job, or the ranks would find the previous
        # job's addresses there.
        store = tempfile.mkdtemp(prefix="gloo-store-", dir=scratch)
        tool = paths.exe(paths.baselines, "gloo_bench")
        if os.access(paths.braidrun or "", os.X_OK):
            argv = [paths.braidrun, "-n", str(nranks), tool]
        else:
            argv = [paths.mpirun] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
            argv += ["--oversubscribe", "--bind-to", "none", "-np", str(nranks), tool]
        argv += sweep + ["-c", str(check), "-C", coll, "-J", json_path, "--store", store]
        return argv, {}


@functools.lru_cache(maxsize=None)
def supports_json(tool):
    """Whether a Braid perf tool has -J yet (its -h lists the flags; -h needs no ranks)."""
    try:
        out = subprocess.run([tool, "-h"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return re.search(r"(^|\s)-J[,\s]", out, re.M) is not None


SYSTEMS = [
    System("braid-shm", "braid", COLLS, "shm", "Braid, BRAID_TRANSPORTS=shm"),
    System("braid-tcp", "braid", COLLS, "tcp", "Braid, BRAID_TRANSPORTS=tcp over lo"),
    System("ompi-vader", "mpi", COLLS, "vader", "Open MPI, pml ob1, btl self,vader (shared memory)"),
    System("ompi-tcp", "mpi", COLLS, "tcp", "Open MPI, pml ob1, btl self,tcp over lo"),
    System("gloo-tcp", "gloo", ("all_reduce", "all_gather"), "tcp", "Gloo ring all-reduce / all-gather, tcp over 127.0.0.1"),
]


def shell_line(argv, env):
    """The command as one could paste it into a shell."""
    prefix = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
    return (prefix + " " if prefix else "") + shlex.join(argv)


def run_job(argv, env_add, timeout, cwd):
    """Runs one job in its own process group (so a timeout takes all its ranks down).
    Returns (rc, output, seconds); rc 124 on timeout, as timeout(1) does."""
    env = dict(os.environ)
    env.update(env_add)
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
        out, _ = proc.communicate()
        out = (out or "") + "\n[perf/compare: timed out after %d s]\n" % timeout
        rc = 124
    return rc, out or "", time.monotonic() - start


def parse_table(output):
    """Braid's stdout table, for tools without -J: size count type redop root, then
    time algbw busbw #wrong out of place (and the same in place)."""
    rows = []
    for line in output.splitlines():
        fields = line.split()
        if not fields or line.lstrip().startswith("#") or len(fields) < 9:
            continue
        try:
            rows.append({"size": int(fields[0]), "time_us": float(fields[5]), "algbw": float(fields[6]),
                         "busbw": float(fields[7]), "wrong": None if fields[8] == "N/A" else int(fields[8])})
        except ValueError:
            continue
    return rows


def parse_result(json_path, output, coll):
    """The one row this job measured: size, time_us, algbw, busbw (GB/s), wrong."""
    rows = []
    if os.path.isfile(json_path):
        with open(json_path) as f:
            doc = json.load(f)
        for r in doc.get("results", []):
            if r.get("collective", coll) != coll:
                continue
            oop = r["out_of_place"]
            rows.append({"size": r["size"], "time_us": oop["time_us"], "algbw": oop["algbw_GBps"],
                         "busbw": oop["busbw_GBps"], "wrong": oop.get("wrong")})
    else:
        rows = parse_table(output)
    if not rows:
        raise ValueError("no result row in the output")
    return rows[0]


def run_stream(paths, threads, reps, timeout, scratch):
    """stream_copy with 1..threads threads; returns (command, parsed JSON) or raises."""
    tool = paths.exe(paths.baselines, "stream_copy")
    json_path = os.path.join(scratch, "stream.json")
    argv = [tool, "-t", ",".join(str(t) for t in range(1, threads + 1)), "-n", str(reps), "-J", json_path]
    rc, out, _ = run_job(argv, {}, timeout, paths.repo)
    if rc != 0:
        raise RuntimeError("stream_copy exited %d:\n%s" % (rc, out[-2000:]))
    with open(json_path) as f:
        return shell_line(argv, {}), json.load(f)


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info(paths):
    """What the reader of RESULTS.md needs to judge the numbers."""
    info = {"cpus": usable_cpus(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            info["cpu"] = m.group(1).strip() if m else "unknown"
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            info["memory_GiB"] = round(int(m.group(1)) / (1 << 20), 1) if m else None
    except OSError:
        pass
    if os.path.isfile("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            info["debian"] = f.read().strip()
    # Read-only git queries: which commit the Braid numbers belong to.
    def git(*args):
        try:
            return subprocess.run(["git", "-C", paths.repo] + list(args), capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    info["commit"] = git("rev-parse", "--short", "HEAD")
    info["dirty"] = bool(git("status", "--porcelain", "--untracked-files=no"))
    if paths.mpirun:
        try:
            out = subprocess.run([paths.mpirun, "--version"], capture_output=True, text=True, timeout=20).stdout
            info["mpirun"] = out.splitlines()[0] if out else ""
        except (OSError, subprocess.SubprocessError):
            pass
        # Whether vader can copy straight between processes (CMA = process_vm_readv,
        # which needs ptrace permission) or must go through its shared segment twice.
        ompi_info = shutil.which("ompi_info")
        if ompi_info:
            try:
                out = subprocess.run([ompi_info, "--param", "btl", "vader", "--level", "9"], capture_output=True,
                                     text=True, timeout=30).stdout
                m = re.search(r'btl_vader_single_copy_mechanism" \(current value: "([^"]*)"', out)
                if m:
                    info["vader_single_copy"] = m.group(1)
            except (OSError, subprocess.SubprocessError):
                pass
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            info["ptrace_scope"] = f.read().strip()
    except OSError:
        info["ptrace_scope"] = "no yama (ptrace between same-user processes allowed)"
    return info
