#!/bin/bash
# The folders are layers and include only downward (README "Layout"): a module that
# includes a later stage's header turns the flow into a tangle. Fails naming the line.
cd "${SOURCE_ROOT:?}" || exit 1
declare -A allowed=(
  [util]="util"
  [vmdefs]="util vmdefs"
  [qmp]="util qmp"
  [topology]="util vmdefs topology"
  [hostprep]="util vmdefs hostprep"
  [qemu]="util vmdefs qemu"
  [run]="util vmdefs qmp topology hostprep qemu run"
  [importer]="util importer"
  [launcher]="util vmdefs qmp topology hostprep qemu run importer launcher"
)
bad=0
for module in "${!allowed[@]}"; do
  for f in "$module"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS=: read -r line inc; do
      dir=${inc%%/*}
      [[ " ${allowed[$module]} " == *" $dir "* ]] && continue
      echo "$f:$line: includes \"$inc\": $module/ may include only ${allowed[$module]}"
      bad=1
    done < <(grep -no '^#include "[a-z_]*/[^"]*"' "$f" | sed 's/#include "\(.*\)"/\1/')
  done
done
# Every folder with C sources is a known layer, so a new one is placed on purpose.
for d in */; do
  d=${d%/}
  [[ $d == tests || $d == build* ]] && continue
  compgen -G "$d/*.c" >/dev/null || continue
  [ -n "${allowed[$d]+x}" ] || { echo "$d/: a folder of C sources that is no layer in tests/layering_check.sh"; bad=1; }
done
[ $bad = 0 ] && echo "ok: every module includes only its own and lower layers"
exit $bad
