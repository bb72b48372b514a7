// Child process for the credential-deadline test: no credentials anywhere, so
// google-auth-library asks the metadata server, which the parent points
// (GCE_METADATA_HOST) at a server that accepts and never answers. Prints what
// enqueue() rejected with and how long it took, as JSON. A child process because
// the lookup reads process.env and caches what it found for the process.
import { CloudTasksBackend } from '../../shim/backends/cloud-tasks/backend.js';

const timeoutMs = Number(process.argv[2]);
const backend = new CloudTasksBackend({ project: 'p', location: 'l', timeoutMs }, { env: {} });
const started = Date.now();
const error = (await backend.enqueue({
  queue: 'default',
  url: '/_ah/queue/deferred',
  etaMs: Date.now(),
  headers: { 'Content-Type': 'application/octet-stream' },
  body: new Uint8Array([1]),
}).then(
  () => undefined,
  (e: unknown) => e,
)) as Error | undefined;
const elapsedMs = Date.now() - started;
await backend.close();
process.stdout.write(`${JSON.stringify({ name: error?.constructor.name, message: error?.message, elapsedMs })}\n`);
process.exit(0);
