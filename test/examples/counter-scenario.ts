// The seed samples' end-to-end test (python-docs-samples `main_test.py`), run in
// process with a manual clock instead of a deployment and real minutes: the
// counter reads 0, `/counter/increment` defers three increments of 10 (now, in
// 60 s, and in 120 s through `/custom/path`), and the counter then reads 10, 20,
// 30, and still 30 thirty seconds later (nothing ran twice).
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../shim/index.js';
import type { Logger } from '../../shim/api/types.js';
import { configure, drain, getRuntime, resetRuntime } from '../../shim/runtime/runtime.js';
import { Counter } from '../../fixtures/examples/shared/counter.js';

const BACKENDS = ['memory', 'embedded'] as const;

/** `folder` is the app's folder under fixtures/examples, whose queue.yaml is put in force. */
export function describeCounterScenario(appName: string, main: (port: number) => Server, folder: string): void {
  const queueYaml = fileURLToPath(new URL(`../../fixtures/examples/${folder}/queue.yaml`, import.meta.url));
  describe.each(BACKENDS)(`${appName} example on the %s backend`, (backend) => {
    let clock: ManualClock;
    let dataDir: string;
    let server: Server;
    let baseUrl: string;
    const errors: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (message) => void errors.push(`warn: ${message}`),
      error: (message, fields) => void errors.push(`error: ${message} ${JSON.stringify(fields)}`),
    };

    beforeEach(async () => {
      await resetRuntime();
      errors.length = 0;
      Counter.clear();
      clock = new ManualClock();
      dataDir = mkdtempSync(join(tmpdir(), 'deferred-example-'));
      // Production mode: every delivery must carry the queue's signature.
      configure({ backend, dataDir, clock, logger, mode: 'production', queues: queueYaml });
      vi.spyOn(console, 'log').mockImplementation(() => {});
      server = main(0);
      if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      vi.restoreAllMocks();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await resetRuntime();
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function get(path: string): Promise<string> {
      const response = await fetch(baseUrl + path);
      expect(response.status, `GET ${path}`).toBe(200);
      return response.text();
    }

    it('counts 0, then 10, 20, 30 as the deferred increments come due, and never more', async () => {
      expect(await get('/counter/get')).toBe('0');
      expect(await get('/counter/increment')).toBe('Deferred counter increment.');

      await drain();
      expect(await get('/counter/get')).toBe('10');

      clock.advance(60_000);
      await drain();
      expect(await get('/counter/get')).toBe('20');

      clock.advance(60_000);
      await drain();
      expect(await get('/counter/get')).toBe('30');
      // The third increment went through the app's own /custom/path route.
      expect(vi.mocked(console.log).mock.calls).toContainEqual(['Executing deferred task.']);

      clock.advance(30_000);
      expect(await drain()).toBe(0);
      expect(await get('/counter/get')).toBe('30');
      expect(errors).toEqual([]);
      // The sample's queue.yaml was in force.
      const [queue] = await getRuntime().backend.operations!.listQueues();
      expect(queue).toMatchObject({ name: 'default', defined: true, counts: { done: 3, failed: 0 }, limits: { ratePerSecond: 5, bucketSize: 5, maxConcurrentRequests: 10 } });
    });
  });
}
