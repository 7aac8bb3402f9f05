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
check rill '#include *[<"](caf/|lmdb\.h|sqlite3\.h|libpq-fe\.h|capnp/|kj/)' "is what users include: no CAF, LMDB, SQLite, libpq or Cap'n Proto"
check persistence/sqlite_sink.hpp '#include *[<"]sqlite3\.h' "is included by users: sqlite3.h stays in the .cpp"
for h in persistence/*.hpp; do
  check "$h" '#include *[<"]libpq-fe\.h' "is included by users: libpq-fe.h stays in postgres_sink.cpp"
done
if [[ $bad -eq 0 ]]; then echo "layering: ok"; fi
exit $bad
