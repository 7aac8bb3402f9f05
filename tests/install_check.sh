#!/usr/bin/env bash
# Installs rill into a temporary prefix and builds samples/external_app against it through
# pkg-config alone, as a user would: fails if the install, rill.pc or a public header is broken.
# usage: install_check.sh BUILD_DIR SOURCE_DIR [SANITIZE]
# SANITIZE is the build's b_sanitize ("none", "address,undefined"): a sanitized librill.a needs
# the same runtime at link time.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
sanitize=${3:-none}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_check: $*" >&2; exit 1; }

# meson install --destdir keeps the configured prefix inside $tmp/root. A copy of rill.pc with
# prefix= moved there stands for an install to that prefix: everything else in it must follow
# ${prefix} (PKG_CONFIG_SYSROOT_DIR would also move the system packages' -I/-L paths).
meson install -C "$build" --no-rebuild --destdir "$tmp/root" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install failed"; }
pc=$(find "$tmp/root" -name rill.pc -print -quit)
[[ -n $pc ]] || fail "no rill.pc installed"
[[ -x $(find "$tmp/root" -path '*/bin/rill-inspect' -print -quit) ]] || fail "no bin/rill-inspect installed"
[[ -x $(find "$tmp/root" -path '*/bin/rill-launch' -print -quit) ]] || fail "no bin/rill-launch installed"
[[ -f $(find "$tmp/root" -path '*/doc/rill/cluster/rill-node@.service' -print -quit) ]] || fail "no doc/rill/cluster/rill-node@.service installed"
mkdir "$tmp/pc"
sed "s|^prefix=|prefix=$tmp/root|" "$pc" >"$tmp/pc/rill.pc"
export PKG_CONFIG_PATH=$tmp/pc
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
# A sanitized librill.so needs the sanitizer runtime first in the app too: build the app with it.
app_opts=()
[[ $sanitize == none ]] || app_opts=(-Db_sanitize="$sanitize" -Db_lundef=false)
meson setup "${app_opts[@]}" "$tmp/app/build" "$tmp/app" >"$tmp/setup.log" 2>&1 ||
  { cat "$tmp/setup.log"; fail "meson setup of the external app failed"; }
# Without ccache, so the time printed is a real compile.
start=$(date +%s%N)
CCACHE_DISABLE=1 ninja -C "$tmp/app/build" >"$tmp/ninja.log" 2>&1 ||
  { cat "$tmp/ninja.log"; fail "external app build failed"; }
end=$(date +%s%N)
echo "external app built (compile and link) in $(( (end - start) / 1000000 )) ms"

# Every header the app's compile read (ninja keeps the depfile): installed rill headers, and none
# of the runtime's libraries.
deps=$(ninja -C "$tmp/app/build" -t deps wordcount.p/wordcount.cpp.o)
[[ $deps == *rill.hpp* ]] || fail "no header list for wordcount.cpp: $deps"
if grep -E '/caf/|lmdb\.h|/capnp/|/kj/|\.capnp\.h|sqlite3\.h|libpq-fe\.h|/nats/' <<<"$deps"; then
  fail "the app's compile read the headers above: <rill/rill.hpp> must not reach them"
fi
grep -q "$tmp/root/.*/include/rill/rill.hpp" <<<"$deps" || fail "the app did not use the installed rill.hpp"
! grep -q "$src" <<<"$deps" || fail "the app's compile read headers from the source tree"
echo "the app's compile read $(grep -c '^ ' <<<"$deps") headers, none of CAF, LMDB, Cap'n Proto, SQLite, libpq"

# The same object against librill.a: rill.pc's private libraries (CAF by name, LMDB, Cap'n
# Proto, SQLite, libpq) must complete it. System libraries stay shared, so the static-only
# libraries libpq.pc names (Debian ships no libpgcommon.a) are left out when absent.
librill_a=$(find "$tmp/root" -name librill.a -print -quit)
[[ -n $librill_a ]] || fail "no librill.a installed"
obj=$tmp/app/build/wordcount.p/wordcount.cpp.o
link=()
[[ $sanitize == none ]] || link+=("-fsanitize=$sanitize")
for f in $static_libs; do
  case $f in
    -lrill) link+=("$librill_a") ;;
    -l*) lib=lib${f#-l}.so
         if [[ $(c++ -print-file-name="$lib") != "$lib" ]]; then link+=("$f"); fi ;;
    *) link+=("$f") ;;
  esac
done
c++ -o "$tmp/app/build/wordcount_static" "$obj" "${link[@]}" 2>"$tmp/static.log" ||
  { cat "$tmp/static.log"; fail "linking against librill.a with pkg-config --static failed: ${link[*]}"; }
! readelf -d "$tmp/app/build/wordcount_static" | grep -q 'librill\.so' ||
  fail "wordcount_static needs librill.so"

expected="rill $(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
batch 1000: (be,2) (is,1) (not,1) (or,1) (question,1) (that,1) (the,1) (to,2)
batch 2000: (dream,1) (perchance,1) (sleep,1) (to,2)
batch 3000:"
libpath=$(dirname "$(find "$tmp/root" -name 'librill.so' -print -quit)")
for exe in wordcount wordcount_static; do
  out=$(LD_LIBRARY_PATH=$libpath timeout 30 "$tmp/app/build/$exe") || fail "$exe exited with $?"
  [[ $out == "$expected" ]] || fail "$exe printed:"$'\n'"$out"$'\n'"expected:"$'\n'"$expected"
done
echo "install_check: ok"
