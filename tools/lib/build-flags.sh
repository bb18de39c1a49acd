# Sourced by tools/test, tools/sahara and tools/gpu-check: the Maven flags that stamp a build with where it came
# from — the git commit, and a hash of the engine's sources as they are on disk, so that a build with uncommitted
# edits is told apart from the commit's own build (result files record both; --resume refuses to mix them).
sahara_build_flags() {
  local root commit hash
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  hash=$(cd "$root" && find engine/src/main engine/pom.xml pom.xml -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
  echo "-Dgit.commit=$commit -Dsource.hash=$hash"
}
