#!/bin/bash
# Fetch Vitrage's etc/vitrage (api-paste.ini, datasources_values,
# templates.sample, ...) from its sdist into a directory.
#
# The vitrage wheel on PyPI ships none of them; deployers have them under
# /etc/vitrage. vitrage-api needs api-paste.ini ([api] paste_config), and
# vitrage-graph and replay need the datasources_values.
#
# Usage: tools/fetch-vitrage-etc.sh DEST_DIR [VITRAGE_VERSION]
set -euo pipefail

dest=${1:?usage: $0 DEST_DIR [VITRAGE_VERSION]}
version=${2:-15.0.1}
python=${PYTHON:-python3}

if [ -f "$dest/api-paste.ini" ]; then
    echo "$dest already has vitrage $version's etc/vitrage"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m pip download --quiet "vitrage==$version" --no-binary :all: \
    --no-deps -d "$work"
tarball=$(ls "$work"/vitrage-*.tar.gz)
tar -xzf "$tarball" -C "$work" "vitrage-$version/etc/vitrage"
mkdir -p "$dest"
cp -r "$work/vitrage-$version/etc/vitrage/." "$dest/"
echo "etc/vitrage of vitrage $version in $dest"
