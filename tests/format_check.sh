#!/bin/bash
# The house style is mechanical: every C file must be as .clang-format makes it.
# Fails listing the files that drift; `clang-format -i FILE` fixes them.
cd "${SOURCE_ROOT:?}" || exit 1
command -v clang-format >/dev/null || { echo "skipped: clang-format is not installed (Debian package clang-format)"; exit 77; }
if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
else
  mapfile -t files < <(find . -path ./build\* -prune -o \( -name '*.c' -o -name '*.h' \) -print)
fi
drift=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || drift+=("$f")
done
if [ ${#drift[@]} -gt 0 ]; then
  printf 'not formatted (run clang-format -i on them):\n'; printf '  %s\n' "${drift[@]}"
  exit 1
fi
echo "ok: ${#files[@]} files formatted"
