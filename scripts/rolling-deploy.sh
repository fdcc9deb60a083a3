#!/usr/bin/env bash
# A rolling deploy of zdm migrations under steady traffic, with the backfill runner killed midway; prints failed
# requests, lost writes, disagreeing rows, whether the contract DDL ran once, and latency. Exits 1 if a target is
# missed. Runs against the sample by default; --help lists the options, to point it at your own service.
set -euo pipefail
cd "$(dirname "$0")/.."
classpath=sample-app/target/rolling-deploy.classpath
if [[ "${SKIP_BUILD:-}" != "true" ]]; then
	echo "Building the sample and the rolling-deploy program (SKIP_BUILD=true skips this)..."
	./mvnw -q -B -pl sample-app -am package dependency:build-classpath -DskipTests \
		-Dmdep.includeScope=test -Dmdep.outputFile="$PWD/$classpath"
fi
exec java -cp "sample-app/target/test-classes:sample-app/target/classes:$(cat "$classpath")" \
	dev.zdm.sample.deploy.RollingDeploy "$@"
