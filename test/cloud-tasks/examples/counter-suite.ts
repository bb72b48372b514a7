// The seed's counter sequence on one of the example apps, with the Cloud Tasks
// backend: `/counter/increment` defers three increments of 10 (now, +60 s, and
// +120 s to the app's own `/custom/path` route); the counter reads 0, then 10,
// 20, 30 as the shared clock moves, and stays 30. One file per app, since each
// registers its own `doSomethingLater`.
import { afterEach, describe, expect, it } from 'vitest';
import { Counter } from '../../../fixtures/examples/shared/counter.js';
import { startWorld, type Servable, type World } from '../harness.js';

export function describeCounterSequence(appName: string, createApp: () => Promise<Servable>): void {
  describe.each(['appengine', 'http'] as const)(`${appName} example on Cloud Tasks (%s target)`, (target) => {
    let world: World | undefined;
    afterEach(async () => {
      await world?.close();
      world = undefined;
      Counter.clear();
    });

    it('counts 0, 10, 20, 30 and stays at 30; every delivery answered 200 once', async () => {
      world = await startWorld(createApp, { target });
      expect(await world.get('/counter/get')).toEqual({ status: 200, body: '0' });
      expect(await world.get('/counter/increment')).toEqual({ status: 200, body: 'Deferred counter increment.' });
      expect(world.server.queued()).toHaveLength(3);

      await world.advance(40_000);
      expect((await world.get('/counter/get')).body).toBe('10');
      await world.advance(60_000);
      expect((await world.get('/counter/get')).body).toBe('20');
      await world.advance(60_000);
      expect((await world.get('/counter/get')).body).toBe('30');
      await world.advance(30_000);
      expect((await world.get('/counter/get')).body).toBe('30');

      expect(world.server.queued()).toEqual([]);
      const deliveries = world.server.deliveries;
      expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
      expect(deliveries.map((d) => new URL(d.url).pathname)).toEqual(['/_ah/queue/deferred', '/_ah/queue/deferred', '/custom/path']);
      const taskHeader = target === 'http' ? 'X-CloudTasks-TaskName' : 'X-AppEngine-TaskName';
      expect(deliveries.every((d) => typeof d.headers[taskHeader] === 'string')).toBe(true);
      if (target === 'http') expect(deliveries.every((d) => d.headers.Authorization?.startsWith('Bearer '))).toBe(true);
    });
  });
}
