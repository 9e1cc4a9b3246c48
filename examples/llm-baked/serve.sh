#!/bin/sh
# The weights the platform trained from Dockerfile.train when it mounts them (/artifacts, read-only, in a
# reproduction run), else the ones baked into the image at build time (development and final runs).
if [ -f /artifacts/model/config.json ]; then
  export ARTIFACTS_DIR=/artifacts
else
  export ARTIFACTS_DIR=/app/baked
fi
exec uvicorn main:app --host 0.0.0.0 --port 80 --log-level warning
