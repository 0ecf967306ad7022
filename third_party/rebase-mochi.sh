#!/usr/bin/env bash
# Moves third_party/mochi-mqtt-server from one mochi-mqtt release to another,
# keeping the "pulsar-gateway patch" changes (third_party/README.md):
#
#   third_party/rebase-mochi.sh v2.7.9 v2.7.10
#
# Each copied file gets a three-way merge (git merge-file): the upstream
# changes from OLD to NEW go into our patched copy. Both upstream versions get
# the same import rewrite first, so only real changes merge. A conflict is
# left in the file with <<<<<<< markers and the script exits 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ $# -eq 2 ] || { echo "usage: $0 OLD_VERSION NEW_VERSION" >&2; exit 2; }
old=$1 new=$2
copy=third_party/mochi-mqtt-server

# upstream VERSION prints the module's directory in the module cache.
upstream() {
  go mod download -json "github.com/mochi-mqtt/server/v2@$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}
# rewrite: mochi's imports of itself become imports of this copy.
rewrite() {
  sed 's#"github.com/mochi-mqtt/server/v2\(/[^"]*\)\{0,1\}"#"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server\1"#g' "$@"
}

olddir=$(upstream "$old") newdir=$(upstream "$new")
[ -d "$olddir" ] && [ -d "$newdir" ] || { echo "$0: cannot download both versions" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

conflicts=0
# The packages we keep, and in them every non-test file of the new release.
for dir in $(cd "$copy" && find . -name '*.go' -exec dirname {} \; | sort -u); do
  for f in $( { (cd "$newdir/$dir" && ls *.go | grep -v '_test\.go$'); (cd "$copy/$dir" && ls *.go); } | sort -u); do
    path=$dir/$f
    if [ ! -f "$newdir/$path" ]; then
      echo "removed upstream: $copy/$path (delete it unless a patch needs it)"
      continue
    fi
    rewrite "$newdir/$path" >"$tmp/new"
    if [ ! -f "$copy/$path" ]; then
      echo "new upstream: $copy/$path"
      cp "$tmp/new" "$copy/$path"
      continue
    fi
    if [ -f "$olddir/$path" ]; then rewrite "$olddir/$path" >"$tmp/old"; else : >"$tmp/old"; fi
    if ! git merge-file -L ours -L "$old" -L "$new" "$copy/$path" "$tmp/old" "$tmp/new"; then
      echo "conflict: $copy/$path"
      conflicts=1
    fi
  done
done
cp "$newdir/LICENSE.md" "$copy/LICENSE.md"
chmod -R u+w "$copy"
gofmt -l "$copy" | sed 's/^/gofmt would change: /'
if [ "$conflicts" -ne 0 ]; then
  echo "$0: resolve the conflicts above, keeping every \"pulsar-gateway patch\"" >&2
  exit 1
fi
echo "now: update the version in third_party/README.md, go mod tidy, go build ./... and go test -race ./mqtt/ (the idle test)"
