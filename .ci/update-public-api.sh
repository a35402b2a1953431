#!/usr/bin/env bash
# Rewrites PublicAPI.Unshipped.txt of every library under src/ from the code as it is now, then builds them to
# prove that the declared API matches (RS0016/RS0017 are errors in the build).
#
#   bash .ci/update-public-api.sh                              # every library under src/
#   bash .ci/update-public-api.sh KafkaClient KafkaClient.Testing   # only these (folder names under src/)
#
# Each Unshipped file is emptied first and then filled by the analyzer's own code fix for RS0016 (through
# dotnet format), so an API that was removed or changed leaves no stale line behind, and the order is the
# analyzer's. A symbol of PublicAPI.Shipped.txt that the code no longer has is declared removed with a
# *REMOVED* line in Unshipped (the analyzer's fixes do not do that). PublicAPI.Shipped.txt itself is never
# changed: at a release, move the lines of Unshipped into Shipped (removing both sides of each *REMOVED* pair).
# Applications (OutputType Exe, such as the dotnet tool) are not tracked and are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ $# -gt 0 ]; then
  projects=()
  for name in "$@"; do
    projects+=("src/$name/$name.csproj")
  done
else
  projects=(src/*/*.csproj)
fi

tracked=()
for project in "${projects[@]}"; do
  [ -f "$project" ] || { echo "no such project: $project" >&2; exit 2; }
  if [ "$(dotnet msbuild "$project" -getProperty:OutputType)" = Exe ]; then
    echo "skip $project (an application: its API is not tracked)"
    continue
  fi
  tracked+=("$project")
done

for project in "${tracked[@]}"; do
  dir=$(dirname "$project")
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
  echo "update $dir/PublicAPI.Unshipped.txt"
  # The code fix of RS0016 (declare a public symbol), applied to all; --severity warn makes dotnet format act on
  # a diagnostic that the build treats as an error. RS0017 (a declared symbol is gone) cannot fire on the
  # emptied Unshipped file; on Shipped it is handled below.
  dotnet format analyzers "$project" --diagnostics RS0016 --severity warn
done

# Build; each RS0017 on a Shipped line becomes a *REMOVED* line in the Unshipped file beside it; repeat while
# that finds more (a library whose reference failed to build was not compiled yet). The build decides: whatever
# error is left fails the script.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pass in 1 2 3 4 5; do
  : > "$log"
  failed=0
  for project in "${tracked[@]}"; do
    echo "check $project"
    dotnet build "$project" --nologo -clp:NoSummary >> "$log" 2>&1 || failed=1
  done
  [ "$failed" -eq 0 ] && break

  added=0
  while IFS=$'\t' read -r shipped line; do
    unshipped="$(dirname "$shipped")/PublicAPI.Unshipped.txt"
    symbol=$(sed -n "${line}p" "$shipped")
    if [ -n "$symbol" ] && ! grep -qxF "*REMOVED*$symbol" "$unshipped"; then
      echo "*REMOVED*$symbol" >> "$unshipped"
      echo "removed (was shipped): $symbol"
      added=1
    fi
  done < <(sed -nE 's#^(/.*/PublicAPI\.Shipped\.txt)\(([0-9]+),[0-9]+\): error RS0017:.*#\1\t\2#p' "$log" | sort -u)

  if [ "$added" -eq 0 ]; then
    grep -E ': error ' "$log" | sort -u >&2 || cat "$log" >&2
    echo "the build still fails: see above" >&2
    exit 1
  fi
done
[ "$failed" -eq 0 ] || { echo "the build still fails after $pass passes" >&2; exit 1; }

for project in "${tracked[@]}"; do
  dir=$(dirname "$project")
  echo "$dir/PublicAPI.Unshipped.txt: $(grep -cv '^#' "$dir/PublicAPI.Unshipped.txt") lines"
done
