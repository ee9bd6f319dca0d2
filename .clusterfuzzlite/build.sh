#!/bin/bash -eu
# ClusterFuzzLite's build script is OSS-Fuzz's: the one script is fuzz/oss-fuzz/build.sh.
exec "$SRC/dcf/fuzz/oss-fuzz/build.sh" "$@"
