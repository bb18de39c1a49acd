# Sourced by the project's scripts: sets JAVA_HOME to a JDK 25 (or newer) and puts it first on PATH.
# Order: $SAHARA_JAVA_HOME, $JAVA_HOME, the usual install folders. The machine's default java may be 17.
sahara_java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }
sahara_find_jdk25() {
  local c major
  for c in "${SAHARA_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* \
           /usr/lib/jvm/java-25* /usr/lib/jvm/jdk-25* /opt/java/openjdk /opt/jdk-25*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major=$(sahara_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then JAVA_HOME="$c"; export JAVA_HOME; PATH="$c/bin:$PATH"; export PATH; return 0; fi
  done
  echo "error: no JDK 25 found (looked at \$SAHARA_JAVA_HOME, \$JAVA_HOME, /usr/lib/jvm/temurin-25-jdk-amd64); install Temurin 25 or set SAHARA_JAVA_HOME" >&2
  return 1
}
sahara_find_jdk25
