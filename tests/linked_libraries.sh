#!/bin/bash
# The binary must not link libsystemd or libkmod at start: they are dlopen()ed when a
# run stops a unit or unloads a module (hostprep/dl_*.c), so a run that does neither
# maps neither, nor the compression and crypto libraries they pull in (about 2.5 MB
# of RSS, README "Performance"). A new direct use of sd_* or kmod_* links them again.
set -u
: "${VMLAUNCH:?set by meson}"
command -v readelf >/dev/null || { echo "skipped: readelf is not installed (Debian package binutils)"; exit 77; }
needed=$(readelf -d "$VMLAUNCH" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "readelf found no NEEDED entry in $VMLAUNCH"; exit 1; }
# Whatever links them indirectly counts too: ldd lists the whole tree.
loaded=$(ldd "$VMLAUNCH" | awk '{print $1}')
bad=$(printf '%s\n' $needed $loaded | sort -u |
      grep -E '^(libsystemd|libkmod|libxml2|libicuuc|libicudata|libcrypto|libgcrypt|libgpg-error|liblzma|libzstd|liblz4)\.so' || true)
if [ -n "$bad" ]; then
  echo "$VMLAUNCH links at start what it should dlopen() when needed:"
  printf '  %s\n' $bad
  echo "call them through hostprep/dl_systemd.h, hostprep/dl_kmod.h or importer/dl_libxml.h (sym_ functions)"
  exit 1
fi
echo "ok: NEEDED is" $needed
