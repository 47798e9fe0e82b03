#!/bin/bash
# Fetch Vitrage's etc/vitrage/datasources_values/*.yaml into a directory.
#
# The vitrage wheel on PyPI does not ship them (deployers have them under
# /etc/vitrage/datasources_values); the sdist does. Replay needs the same
# files vitrage-graph used, so point [replay] datasources_values_dir at
# /etc/vitrage/datasources_values on a Vitrage host, or at the directory
# this script fills.
#
# Usage: tools/fetch-datasources-values.sh DEST_DIR [VITRAGE_VERSION]
set -euo pipefail

dest=${1:?usage: $0 DEST_DIR [VITRAGE_VERSION]}
version=${2:-15.0.1}

if compgen -G "$dest/*.yaml" > /dev/null; then
    echo "$dest already has datasources_values"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$(dirname "$0")/fetch-vitrage-etc.sh" "$work/etc" "$version" > /dev/null
mkdir -p "$dest"
cp "$work/etc/datasources_values/"*.yaml "$dest/"
echo "datasources_values of vitrage $version in $dest"
