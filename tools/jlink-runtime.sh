#!/usr/bin/env bash
# Builds a small Java 25 runtime for machines without a JDK (the GPU machine): jlink of the modules engine.jar
# and the JUnit console launcher need, flags baked in, native libraries stripped, as a tar.xz.
# The modules image is left uncompressed (--compress=zip-0) and the whole tar is xz'd: ~22 MB instead of ~37 MB
# for the same runtime with per-resource zip-9 and gzip, which keeps the GPU carry under 64 MiB with java.desktop.
# Unpack with `tar -xJf` or, where there is no xz, Python's tarfile (tools/gpu-check does).
# Usage: tools/jlink-runtime.sh OUT.tar.xz        (unpacks to a folder named sahara-runtime/)
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/lib/find-jdk25.sh
out=${1:?usage: tools/jlink-runtime.sh OUT.tar.xz}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# java.logging: JCuda; java.management + jdk.management: JMH / JUnit; java.xml, java.sql, java.naming: Jackson, DJL, JUnit;
# jdk.zipfs: the JUnit console launcher scans jars through the zip file system; java.desktop: ImageIO / Java2D for the
# heatmap and scatter PNGs that attribute, ships and sweep write (and jinjava chat templates). Headless: the X11,
# splash-screen and sound natives are left out.
modules=java.base,jdk.incubator.vector,jdk.unsupported,java.logging,java.management,jdk.management,java.xml,java.sql,java.naming,jdk.zipfs,java.desktop
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --exclude-files='**/libawt_xawt.so,**/libsplashscreen.so,**/libjsound.so' --compress=zip-0 --strip-debug --no-header-files --no-man-pages \
    --add-options="--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED" --output "$work/sahara-runtime"
find "$work/sahara-runtime" -name '*.so' -exec strip --strip-unneeded {} + 2>/dev/null || true
XZ_OPT="-9 -T0" tar -C "$work" -cJf "$out" sahara-runtime
echo "jlink-runtime: $out ($(du -h "$out" | cut -f1), modules $modules)"
