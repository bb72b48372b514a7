// Routing of App Engine tasks without `_target`: App Engine task queues ran them on
// the version that enqueued them, Cloud Tasks on the default serving version. The
// backend pins them to GAE_SERVICE/GAE_VERSION unless `routing: 'default'`; checked
// on the Task the test Cloud Tasks server received and on the delivery it made.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../shim/api/types.js';
import { CloudTasksBackend, CloudTasksConfigError } from '../../shim/backends/cloud-tasks/backend.js';
import { startWorld, type World } from './harness.js';

const okApp = (_req: IncomingMessage, res: ServerResponse) => void res.end('ok');
const ENQUEUING = { GAE_APPLICATION: 's~test-project', GAE_SERVICE: 'worker', GAE_VERSION: '20261130t1200' };

function spec(overrides: Partial<TaskSpec> = {}): TaskSpec {
  return { queue: 'default', url: '/_ah/queue/deferred', etaMs: Date.UTC(2026, 0, 1), headers: {}, body: new Uint8Array([1]), ...overrides };
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('App Engine tasks without _target', () => {
  it('go to the enqueuing service and version by default', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', env: ENQUEUING });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toEqual({ service: 'worker', version: '20261130t1200' });
    await world.advance(0);
    expect(world.server.deliveries.map((d) => [d.status, d.routing])).toEqual([[200, { service: 'worker', version: '20261130t1200' }]]);
  });

  it.each([
    ['the routing option', { backend: { routing: 'default' as const }, env: ENQUEUING }],
    ['DEFERRED_CLOUD_TASKS_ROUTING', { env: { ...ENQUEUING, DEFERRED_CLOUD_TASKS_ROUTING: 'default' } }],
  ])("go to the default serving version with routing 'default' (%s)", async (_label, options) => {
    world = await startWorld(() => okApp, { target: 'appengine', ...options });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toBeUndefined();
  });

  it('the option wins over the variable', async () => {
    world = await startWorld(() => okApp, {
      target: 'appengine',
      backend: { routing: 'enqueuing-version' },
      env: { ...ENQUEUING, DEFERRED_CLOUD_TASKS_ROUTING: 'default' },
    });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toEqual({ service: 'worker', version: '20261130t1200' });
  });

  it('have no routing off App Engine (no GAE_SERVICE and GAE_VERSION), as before', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', env: { GAE_VERSION: 'counter-app' } });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toBeUndefined();
  });
});

describe('what wins over the enqueuing version', () => {
  it('_target, read as App Engine did', async () => {
    world = await startWorld(() => okApp, { target: 'appengine', env: ENQUEUING });
    await world.backend.enqueue(spec({ target: 'reports' }));
    await world.backend.enqueue(spec({ target: 'v3.reports' }));
    expect(world.server.created.map((t) => t.appEngineHttpRequest!.appEngineRouting)).toEqual([{ service: 'reports' }, { service: 'reports', version: 'v3' }]);
  });

  it('configured appEngineRouting (option or DEFERRED_CLOUD_TASKS_APPENGINE_*)', async () => {
    world = await startWorld(() => okApp, {
      target: 'appengine',
      env: { ...ENQUEUING, DEFERRED_CLOUD_TASKS_APPENGINE_SERVICE: 'tasks', DEFERRED_CLOUD_TASKS_APPENGINE_VERSION: 'live' },
    });
    await world.backend.enqueue(spec());
    expect(world.server.created[0]!.appEngineHttpRequest!.appEngineRouting).toEqual({ service: 'tasks', version: 'live' });
  });

  it('HTTP targets are not App Engine routed at all', async () => {
    world = await startWorld(() => okApp, { target: 'http', env: ENQUEUING });
    await world.backend.enqueue(spec());
    const sent = world.server.created[0]!;
    expect(sent.appEngineHttpRequest).toBeUndefined();
    expect(sent.httpRequest!.url).toBe(`${world.appUrl}/_ah/queue/deferred`);
  });
});

it('a routing value other than enqueuing-version or default is refused', () => {
  expect(() => new CloudTasksBackend({}, { env: { DEFERRED_CLOUD_TASKS_ROUTING: 'latest' } })).toThrow(CloudTasksConfigError);
  expect(() => new CloudTasksBackend({ routing: 'latest' as never }, { env: {} })).toThrow(/routing must be "enqueuing-version" or "default", got "latest"/);
});
