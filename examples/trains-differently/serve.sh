#!/bin/sh
# The model the platform trained from Dockerfile.train when it mounts one (/artifacts, read-only, in a reproduction
# run), else the one baked into the image at build time (development and final runs).
if [ -f /artifacts/model.json ]; then
  export ARTIFACTS_DIR=/artifacts
else
  export ARTIFACTS_DIR=/app/weights
fi
echo "serving the model in $ARTIFACTS_DIR"
exec python3 /app/server.py
