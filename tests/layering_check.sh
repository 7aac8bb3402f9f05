#!/usr/bin/env bash
# Layers are enforced by includes (STYLE.md §5.1): fails naming each file that crosses a layer.
set -u
root=${1:-.}
cd "$root" || exit 2
bad=0
check() {  # check FOLDER REGEX WHY
  local hits
  hits=$(grep -rnE "$2" "$1" --include='*.hpp' --include='*.cpp' --include='*.h' 2>/dev/null)
  if [[ -n $hits ]]; then
    echo "layering: $1/ $3:"
    echo "$hits"
    bad=1
  fi
}
check dataflow '#include *[<"](caf/|lmdb\.h|sqlite3\.h|libpq-fe\.h|capnp/|kj/|actors/|net/|persistence/)' "must include only std, spdlog and xxhash"
check persistence '#include *[<"](caf/|actors/)' "must not include CAF or actors/"
check net '#include *[<"]actors/' "must not include actors/"
check rill '#include *[<"](caf/|lmdb\.h|sqlite3\.h|libpq-fe\.h|capnp/|kj/|nats/)' "is what users include: no CAF, LMDB, SQLite, libpq, Cap'n Proto or NATS"
check persistence/sqlite_sink.hpp '#include *[<"]sqlite3\.h' "is included by users: sqlite3.h stays in the .cpp"
for h in net/*.hpp; do
  check "$h" '#include *[<"]nats/' "is included by users or tests: nats.h stays in jetstream_source.cpp"
done
for h in net/*.hpp; do  # toml_fields.hpp is internal: only net/'s .cpp files include it
  [[ $h == net/toml_fields.hpp ]] && continue
  check "$h" '#include *[<"](toml\+\+/|net/toml_fields\.hpp)' "must not bring in toml++: it stays in net/*.cpp"
done
for h in persistence/*.hpp; do
  check "$h" '#include *[<"]libpq-fe\.h' "is included by users: libpq-fe.h stays in postgres_sink.cpp"
done
# What <rill/rill.hpp> and <rill/chaos.hpp> reach, transitively (the preprocessor's view, not a
# grep of one folder): no runtime header, and exactly the headers rill/meson.build installs.
cxx=${CXX:-c++}
if reached=$($cxx -std=c++20 -I. -MM -MG rill/rill.hpp rill/chaos.hpp 2>&1); then
  reached=$(tr ' \\' '\n\n' <<<"$reached" | grep -E '\.(h|hpp)$' | sort -u)
  hits=$($cxx -std=c++20 -I. -M -MG rill/rill.hpp rill/chaos.hpp | tr ' \\' '\n\n' |
         grep -E '(^|/)(caf/|lmdb\.h|capnp/|kj/|sqlite3\.h|libpq-fe\.h|nats/|[^ ]*\.capnp\.h)' | sort -u)
  if [[ -n $hits ]]; then
    echo "layering: rill/rill.hpp reaches runtime headers users must not need:"
    head -20 <<<"$hits"
    bad=1
  fi
  installed=$( (echo rill/rill.hpp; echo rill/chaos.hpp; echo rill/version.hpp
                grep -oE "'\.\./[a-z_/]+\.hpp'" rill/meson.build | tr -d "'" | sed 's|^\.\./||') | sort -u)
  if [[ $reached != "$installed" ]]; then
    echo "layering: rill/meson.build must install exactly what rill/rill.hpp reaches (< reached, > installed):"
    diff <(echo "$reached") <(echo "$installed") | grep '^[<>]'
    bad=1
  fi
else
  echo "layering: $cxx cannot preprocess rill/rill.hpp:"
  echo "$reached"
  bad=1
fi
if [[ $bad -eq 0 ]]; then echo "layering: ok"; fi
exit $bad
