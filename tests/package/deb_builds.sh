#!/bin/bash
# `dpkg-buildpackage -us -uc -b` builds the vmlaunch .deb from a copy of this tree, the
# .deb holds everything a user installs (the binary, both man pages, vmlaunch@.service,
# the sysusers file, the example definitions, the bash and zsh completions), declares
# its run-time dependencies, its vmlaunch is a release build (no test seams), and
# lintian finds no error in it. It is kept as $BUILD_ROOT/package/vmlaunch.deb for the
# system scenario vmlaunch_installed_from_deb.
set -u
: "${SOURCE_ROOT:?set by meson}"
skip() {
        echo "skipped: $*"
        exit 77
}
for tool in dpkg-buildpackage dh lintian; do
        command -v $tool >/dev/null || skip "$tool is not installed (tools/install-deps installs debhelper, dpkg-dev and lintian)"
done
TMP=$(mktemp -d /tmp/vmlaunch-deb.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() {
        echo "FAIL: $*"
        exit 1
}
version=$(sed -n '1s/^vmlaunch (\([^)]*\)).*/\1/p' "$SOURCE_ROOT/debian/changelog")
[ -n "$version" ] || fail "no version in debian/changelog"
src=$TMP/vmlaunch-$version
mkdir "$src"
# The tree as it is (tracked and new files), without build directories.
if git -C "$SOURCE_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$SOURCE_ROOT" && git ls-files -z --cached --others --exclude-standard |
                grep -zv '^build' | xargs -0 cp --parents -t "$src" 2>/dev/null) ||
                fail "copying the tree"
else
        (cd "$SOURCE_ROOT" && tar --exclude='./build*' -cf - .) | tar -C "$src" -xf - ||
                fail "copying the tree"
fi
echo "building vmlaunch $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 ||
        { tail -40 "$TMP/build.log"; fail "dpkg-buildpackage failed (log above)"; }
deb=$(ls "$TMP"/vmlaunch_"$version"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb in $TMP: $(ls "$TMP")"
echo "built ${deb##*/}"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$TMP/contents"
for path in /usr/bin/vmlaunch \
        /usr/share/man/man1/vmlaunch.1.gz /usr/share/man/man5/vmlaunch.ini.5.gz \
        'vmlaunch@.service' /usr/lib/sysusers.d/vmlaunch.conf \
        /usr/share/doc/vmlaunch/examples/win10.ini /usr/share/doc/vmlaunch/examples/win11.ini \
        /usr/share/doc/vmlaunch/examples/demo.ini /usr/share/doc/vmlaunch/copyright \
        /usr/share/bash-completion/completions/vmlaunch /usr/share/zsh/site-functions/_vmlaunch; do
        grep -q -- "$path\$" "$TMP/contents" || fail "the .deb has no $path"
done
echo "ok: binary, man pages, unit, sysusers, examples, completions"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in qemu-system-x86 ovmf libsystemd0 libkmod2 libjson-c5 libhwloc15 libinih1 libxml2; do
        [[ $depends == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
[[ $(dpkg-deb -f "$deb" Recommends) == *swtpm* ]] || fail "Recommends lacks swtpm"
echo "ok: Depends: $depends"
# The packaged binary is a release build: the test seams' variable names are not in it.
dpkg-deb -x "$deb" "$TMP/root"
grep -q -a -F VMLAUNCH_SYSROOT "$TMP/root/usr/bin/vmlaunch" &&
        fail "the packaged vmlaunch honours VMLAUNCH_SYSROOT (a test-seams build)"
"$TMP/root/usr/bin/vmlaunch" --version || fail "the packaged vmlaunch does not run"
lintian --fail-on error --tag-display-limit 0 "$deb" >"$TMP/lintian.log" 2>&1
rc=$?
cat "$TMP/lintian.log"
[ $rc = 0 ] || fail "lintian found errors (above)"
echo "ok: lintian, no errors ($(grep -c '^W:' "$TMP/lintian.log") warnings)"
# Kept for the system scenario that installs it in the emulated host.
if [ -n "${BUILD_ROOT:-}" ]; then
        mkdir -p "$BUILD_ROOT/package" && cp "$deb" "$BUILD_ROOT/package/vmlaunch.deb" ||
                fail "keeping the .deb in $BUILD_ROOT/package"
        echo "kept as $BUILD_ROOT/package/vmlaunch.deb"
fi
