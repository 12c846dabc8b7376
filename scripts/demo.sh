#!/usr/bin/env bash
# The demo: build poolmigrate and show what migrating the user pool of the
# bundled example Amplify project (examples/notes-app) would touch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p bin
go build -o bin/poolmigrate .
echo "\$ poolmigrate plan   (in examples/notes-app)"
(cd examples/notes-app && ../../bin/poolmigrate plan)
echo
echo "\$ poolmigrate plan --json | head -30"
(cd examples/notes-app && ../../bin/poolmigrate plan --json | head -30)
