/**
 * Starts (or reuses) the embedded Temporal dev server for this project's data folder, or stops it.
 *   node dist/scripts/temporal-server.js up|down
 * Ports: CHALLENGE_TEMPORAL_PORT (7233) and CHALLENGE_TEMPORAL_UI_PORT (8233); data: CHALLENGE_DATA_DIR.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRuntimeConfig, type RuntimeConfig } from '../infra/runtime-config.js';
import { ensureDevServer, stopDevServer, type DevServerOptions } from '../infra/dev-server.js';

export function devServerOptionsFor(config: RuntimeConfig): DevServerOptions {
  const port = Number(config.temporal.address.split(':').pop());
  const uiPort = Number(new URL(config.uiUrl).port);
  return { port, uiPort, dbFile: path.join(config.dataDir, 'temporal.sqlite'), logFile: path.join(config.dataDir, 'logs', 'temporal-server.log') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadRuntimeConfig();
  const options = devServerOptionsFor(config);
  const command = process.argv[2] ?? 'up';
  if (command === 'up') {
    const { started } = await ensureDevServer(options);
    console.log(`Temporal dev server ${started ? 'started' : 'already running'} on ${config.temporal.address}; Web UI ${config.uiUrl}; history in ${options.dbFile}`);
  } else if (command === 'down') {
    await stopDevServer(options);
    console.log('Temporal dev server stopped');
  } else {
    console.error(`usage: temporal-server up|down (got "${command}")`);
    process.exit(2);
  }
}
