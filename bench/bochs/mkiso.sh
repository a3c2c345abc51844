#!/usr/bin/env bash
# Wrap a multiboot (v1) kernel in a GRUB El Torito ISO that boots it at once:
#   mkiso.sh KERNEL.elf OUT.iso [CMDLINE [MODULE.elf[,STRING]]...]
# CMDLINE is the kernel's command line; each MODULE becomes a multiboot
# module in order, STRING its string (the way `nvmx run --module` takes it).
# Needs grub-mkrescue (Debian: grub-pc-bin grub-common xorriso mtools).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 KERNEL.elf OUT.iso [CMDLINE [MODULE.elf[,STRING]]...]" >&2
    exit 2
fi
kernel=$1
iso=$2
cmdline=${3:-}
shift 2
[ $# -gt 0 ] && shift
if [ ! -f "$kernel" ]; then
    echo "$0: $kernel: no such kernel image" >&2
    exit 2
fi
command -v grub-mkrescue >/dev/null || {
    echo "$0: grub-mkrescue not found (apt-get install grub-pc-bin grub-common xorriso mtools)" >&2
    exit 2
}

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/boot/grub"
cp "$kernel" "$tree/boot/bench-vmx.elf"
modules=
n=0
for m in "$@"; do
    file=${m%%,*}
    string=
    [ "$file" != "$m" ] && string=${m#*,}
    if [ ! -f "$file" ]; then
        echo "$0: $file: no such module" >&2
        exit 2
    fi
    cp "$file" "$tree/boot/module$n.elf"
    modules="$modules  module /boot/module$n.elf $string
"
    n=$((n + 1))
done
cat >"$tree/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "bench-vmx" {
  multiboot /boot/bench-vmx.elf $cmdline
$modules  boot
}
CFG
# Bochs boots the CD through its legacy BIOS, so the i386-pc GRUB is the one used.
grub-mkrescue --output="$iso" \
    --install-modules="multiboot normal configfile iso9660 biosdisk" \
    --fonts= --locales= --themes= "$tree" >/dev/null 2>"$tree.log" || {
    echo "$0: grub-mkrescue failed:" >&2
    cat "$tree.log" >&2
    rm -f "$tree.log"
    exit 1
}
rm -f "$tree.log"
