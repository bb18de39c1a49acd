#!/usr/bin/env bash
# Builds a small Java 25 runtime for machines without a JDK (the GPU machine): jlink of the modules engine.jar
# and the JUnit console launcher need, flags baked in, native libraries stripped, as a tar.gz.
# Usage: tools/jlink-runtime.sh OUT.tar.gz        (unpacks to a folder named sahara-runtime/)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/find-jdk25.sh
out=${1:?usage: tools/jlink-runtime.sh OUT.tar.gz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# java.logging: JCuda; java.management + jdk.management: JMH / JUnit; java.xml, java.sql, java.naming: Jackson, DJL, JUnit;
# jdk.zipfs: the JUnit console launcher scans jars through the zip file system.
modules=java.base,jdk.incubator.vector,jdk.unsupported,java.logging,java.management,jdk.management,java.xml,java.sql,java.naming,jdk.zipfs
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --compress=zip-9 --strip-debug --no-header-files --no-man-pages \
    --add-options="--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED" --output "$work/sahara-runtime"
find "$work/sahara-runtime" -name '*.so' -exec strip --strip-unneeded {} + 2>/dev/null || true
tar -C "$work" -czf "$out" sahara-runtime
echo "jlink-runtime: $out ($(du -h "$out" | cut -f1), modules $modules)"
