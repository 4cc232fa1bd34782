# Builds the guest's initramfs: static busybox, guest/init, and the modules that stage 1
# needs to reach the host's / (virtio PCI, 9p over virtio, overlayfs) and eth0
# (virtio_net), each with its dependencies from the kernel's modules.dep. Sourced by
# tests/rdma/run.sh.

# Prints the modules (paths relative to /lib/modules/KVER) in an order insmod accepts:
# every module after the ones it depends on, each once.
rdma_module_order() {
  local kver=$1; shift
  local dep=/lib/modules/$kver/modules.dep
  awk -v wanted="$*" '
    BEGIN { n = split(wanted, w, " ") }
    { key = $1; sub(/:$/, "", key); deps[key] = ""; for (i = 2; i <= NF; i++) deps[key] = deps[key] " " $i
      base = key; sub(/.*\//, "", base); sub(/\.ko(\.[a-z]+)?$/, "", base); byname[base] = key }
    function visit(m,   d, k, i) {
      if (m in done) return
      done[m] = 1
      k = split(deps[m], d, " ")
      # modules.dep lists the deepest dependency last; load from the end.
      for (i = k; i >= 1; i--) visit(d[i])
      print m
    }
    END {
      for (i = 1; i <= n; i++) {
        if (!(w[i] in byname)) { print "missing module " w[i] > "/dev/stderr"; exit 1 }
        visit(byname[w[i]])
      }
    }' "$dep"
}

# rdma_build_initramfs KVER OUT_FILE: writes a newc cpio (uncompressed: the kernel reads
# it directly and gzip would only cost time) and returns non-zero if anything is missing.
rdma_build_initramfs() {
  local kver=$1 out=$2 here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local root
  root=$(mktemp -d "${out}.root.XXXXXX") || return 1
  mkdir -p "$root"/{bin,dev,proc,sys,modules} || return 1
  cp /bin/busybox "$root/bin/busybox" || return 1
  cp "$here/guest/init" "$root/init" && chmod 755 "$root/init" || return 1
  # The kernel opens /dev/console for init's stdin/stdout/stderr before /init runs.
  mknod -m 600 "$root/dev/console" c 5 1 || return 1
  local order
  # virtio_ring is named first: the notes found virtio must come after it.
  order=$(rdma_module_order "$kver" virtio_ring virtio virtio_pci 9pnet 9pnet_virtio 9p overlay virtio_net) ||
    return 1
  local m
  for m in $order; do
    case "$m" in
      *.ko) cp "/lib/modules/$kver/$m" "$root/modules/" || return 1 ;;
      *) echo "initramfs: $m is compressed; this harness expects plain .ko modules" >&2; return 1 ;;
    esac
    basename "$m" >>"$root/modules.list"
  done
  (cd "$root" && find . | cpio -o -H newc --quiet) >"$out" || return 1
  rm -rf "$root"
}
