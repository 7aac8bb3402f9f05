#!/usr/bin/env bash
# Installs rill into a temporary prefix and builds samples/external_app against it through
# pkg-config alone, as a user would: fails if the install, rill.pc or a public header is broken.
# usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_check: $*" >&2; exit 1; }

# meson install --destdir keeps the configured prefix inside $tmp/root; pkg-config's sysroot
# maps rill.pc's paths there, as for a staged package.
meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install failed"; }
pc=$(find "$tmp/root" -name rill.pc -print -quit)
[[ -n $pc ]] || fail "no rill.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$tmp/root
cflags=$(pkg-config --cflags rill) || fail "pkg-config --cflags rill failed"
libs=$(pkg-config --libs rill) || fail "pkg-config --libs rill failed"
static_libs=$(pkg-config --static --libs rill) || fail "pkg-config --static --libs rill failed"
echo "pkg-config --cflags --libs rill: $cflags $libs"
[[ $cflags == *"-I$tmp/root/"*"/include/rill"* ]] || fail "Cflags lack -I\${includedir}/rill: $cflags"
[[ $libs == *-lrill* ]] || fail "Libs lack -lrill: $libs"
[[ $static_libs == *-lcaf_core* ]] || fail "static Libs lack CAF: $static_libs"
[[ "$cflags $libs" != *"$src"* ]] || fail "rill.pc points into the source tree"

# Out of the source tree, with nothing of it on the include path: only the installed headers.
cp -r "$src/samples/external_app" "$tmp/app"
start=$(date +%s%N)
meson setup "$tmp/app/build" "$tmp/app" >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log"; fail "meson setup of the external app failed"; }
ninja -C "$tmp/app/build" >"$tmp/ninja.log" 2>&1 || { cat "$tmp/ninja.log"; fail "external app build failed"; }
end=$(date +%s%N)
echo "external app configured and built in $(( (end - start) / 1000000 )) ms"

# The depfile lists every header the app's compile read: the installed rill ones, no runtime's.
dep=$(find "$tmp/app/build" -name 'wordcount.cpp.o.d' -print -quit)
[[ -n $dep ]] || fail "no depfile for wordcount.cpp"
if grep -E '/caf/|lmdb\.h|/capnp/|/kj/|\.capnp\.h|sqlite3\.h|libpq-fe\.h' "$dep"; then
  fail "the app's compile read the headers above: <rill/rill.hpp> must not reach them"
fi
grep -q "$tmp/root/.*/include/rill/rill.hpp" "$dep" || fail "the app did not use the installed rill.hpp"
! grep -q "$src" "$dep" || fail "the app's compile read headers from the source tree"

expected="rill $(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
batch 1000: (be,2) (is,1) (not,1) (or,1) (question,1) (that,1) (the,1) (to,2)
batch 2000: (dream,1) (perchance,1) (sleep,1) (to,2)
batch 3000:"
for exe in wordcount wordcount_static; do
  out=$(LD_LIBRARY_PATH=$(dirname "$(find "$tmp/root" -name 'librill.so' -print -quit)") \
        timeout 30 "$tmp/app/build/$exe") || fail "$exe exited with $?"
  [[ $out == "$expected" ]] || fail "$exe printed:"$'\n'"$out"$'\n'"expected:"$'\n'"$expected"
done
echo "install_check: ok"
