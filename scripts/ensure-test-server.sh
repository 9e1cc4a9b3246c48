#!/usr/bin/env bash
# The Temporal time-skipping test server, for test/unit/stage-limits-time-skipping.test.ts.
#
# @temporalio/testing's TestWorkflowEnvironment.createTimeSkipping() normally downloads a native build of the
# server from GitHub releases, which this project's machines cannot reach. The same server is published on
# Maven Central as io.temporal:temporal-test-server (io.temporal.testserver.TestServer, whose main takes the
# port), so this script resolves that artifact with Maven and writes a small launcher that the SDK runs as
# `server: { executable: { type: 'existing-path', path } }` (the SDK passes the port as the first argument).
#
# Prints the launcher's path on its last line. Cached under ~/.cache/challenge/temporal-test-server/<version>;
# a second run only checks. Needs java (17+) and mvn.
set -euo pipefail
version="${CHALLENGE_TEST_SERVER_VERSION:-1.31.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/challenge/temporal-test-server"
dir="$cache/$version"
launcher="$dir/temporal-test-server"

if [[ -x "$launcher" && -f "$dir/lib/temporal-test-server-$version.jar" ]]; then
  echo "$launcher"
  exit 0
fi
command -v java >/dev/null 2>&1 || { echo "java is not installed: the time-skipping test server is a Java program (Debian: openjdk-17-jre-headless)" >&2; exit 1; }
command -v mvn >/dev/null 2>&1 || { echo "mvn is not installed: it fetches the time-skipping test server from Maven Central (Debian: maven)" >&2; exit 1; }

mkdir -p "$dir"
# One fetch at a time (a test and the set-up may ask at once); a second caller finds the first one's result.
exec 9>"$cache/.lock"
flock 9
if [[ -x "$launcher" && -f "$dir/lib/temporal-test-server-$version.jar" ]]; then
  echo "$launcher"
  exit 0
fi
# A throwaway project whose only use is to name the artifact: Maven resolves it with its dependencies
# (the Java SDK, gRPC, protobuf: about 30 MB) and copies the jars into lib/.
cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>challenge.local</groupId>
  <artifactId>temporal-test-server-launcher</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
EOF
echo "fetching io.temporal:temporal-test-server:$version with Maven into $dir (a minute or two the first time)" >&2
mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" -Dmaven.repo.local="$cache/m2" dependency:copy-dependencies -DoutputDirectory="$dir/lib" -DincludeScope=runtime >&2

# exec: the SDK stops the server by killing the process it started, which must be the JVM itself.
# Tiered compilation level 1 and the serial collector: the server starts in about 2 s and idles on 2 cores.
cat >"$launcher.tmp" <<EOF
#!/bin/sh
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m -cp '$dir/lib/*' io.temporal.testserver.TestServer "\$@"
EOF
chmod +x "$launcher.tmp"
mv "$launcher.tmp" "$launcher"
echo "$launcher"
