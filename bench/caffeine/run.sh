#!/bin/sh
# Builds the Caffeine replay with Maven (Caffeine from Maven Central, pinned
# in pom.xml) and runs it: run.sh TRACE_DIR RUNS trace:capacity...
set -e
here=$(cd "$(dirname "$0")" && pwd)
mvn -q -f "$here/pom.xml" compile dependency:build-classpath \
    -Dmdep.outputFile="$here/target/classpath.txt" >&2
exec java -cp "$here/target/classes:$(cat "$here/target/classpath.txt")" mccache.Replay "$@"
