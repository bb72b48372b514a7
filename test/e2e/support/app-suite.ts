// The end-to-end proof for one legacy app: it runs on the legacy runtime, the
// codemod migrates a copy (idempotently, with the expected report), the copy
// type-checks no worse than before, and it runs on the shim with the same
// observable behaviour, including tasks the legacy runtime queued before the switch.
import { mkdtempSync, rmSync } from 'node:fs';
import type * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MigrationResult } from '../../../codemods/types.js';
import { runDriver, type DriverConfig } from './driver-protocol.js';
import { request, serve } from './http.js';
import { captureLegacyLogs, legacyQueue, runLegacyCounterScenario } from './legacy.js';
import { expectedReport, expectMigratedSources, migrateApp, reportedItems, runCli, writeMigration } from './migration.js';
import { formatDiagnostics, newDiagnostics, typeCheck, type Diagnostic } from './typecheck.js';
import { assertShimBuilt, createWorkspace, FIXTURES, readTree, type Workspace } from './workspace.js';

export interface LegacyAppSpec {
  /** Folder under fixtures/apps. */
  name: string;
  moduleKind: 'esm' | 'cjs';
  /** Module exporting `main(port): Server | Promise<Server>`, relative to the app folder. */
  mainModule: string;
  /** The app as the legacy runtime serves it (a Node request listener or a server not listening yet), from the fixture in place. */
  loadLegacyListener(appDir: string): Promise<http.RequestListener | http.Server>;
  /** Also migrate a second copy through the CLI binary and compare. */
  viaCli?: boolean;
}

export function describeLegacyApp(spec: LegacyAppSpec): void {
  describe(`legacy app ${spec.name}`, () => {
    const fixtureDir = join(FIXTURES, 'apps', spec.name);

    it('runs the counter sample on the legacy runtime over HTTP', async () => {
      const logs = captureLegacyLogs();
      const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
      try {
        await runLegacyCounterScenario(await spec.loadLegacyListener(fixtureDir));
        // The custom handler on /custom/path ran exactly once (for the +120 s task).
        expect(info.mock.calls.filter(([line]) => line === 'Executing deferred task.')).toHaveLength(1);
        expect(logs.filter((line) => line.level === 'error')).toEqual([]);
      } finally {
        info.mockRestore();
      }
    });

    it('answers requests that do not come from the queue with 403 and runs nothing', async () => {
      captureLegacyLogs();
      legacyQueue.reset();
      const served = await serve(await spec.loadLegacyListener(fixtureDir));
      try {
        const before = (await request(served.baseUrl, '/counter/get')).body;
        const forged = await request(served.baseUrl, '/_ah/queue/deferred', {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' },
          body: JSON.stringify({ fn: 'doSomethingLater', args: ['Missing', 1000] }),
        });
        expect(forged.status).toBe(403);
        expect((await request(served.baseUrl, '/counter/get')).body).toBe(before);
        expect((await request(served.baseUrl, '/_ah/queue/deferred')).status).toBe(405);
      } finally {
        await served.close();
      }
    });

    describe('migrated', () => {
      let workspace: Workspace;
      let result: MigrationResult;
      let legacyDiagnostics: Diagnostic[];

      beforeAll(async () => {
        assertShimBuilt();
        workspace = createWorkspace(spec.name);
        legacyDiagnostics = await typeCheck(join(workspace.appDir, 'tsconfig.json'), workspace.appDir);
        result = await migrateApp(workspace.appDir);
        await writeMigration(result);
      }, 180_000); // a compiler program over Express/Fastify types plus the migration: slow on a loaded machine

      afterAll(() => workspace?.dispose());

      it('rewrites every legacy usage and wraps the app once', () => {
        expect(result.files.filter((file) => file.status === 'failed')).toEqual([]);
        expectMigratedSources(readTree(workspace.appDir), result);
      });

      it('reports exactly the expected manual items', () => {
        expect(reportedItems(result)).toEqual(expectedReport(spec.name));
      });

      it('changes nothing when run again on its own output', async () => {
        const again = await migrateApp(workspace.appDir);
        expect(again.files.filter((file) => file.updated !== undefined && file.updated !== file.original).map((file) => file.file)).toEqual([]);
      });

      it('type-checks cleanly before migration (so the comparison below means something)', () => {
        expect(legacyDiagnostics, formatDiagnostics(legacyDiagnostics)).toEqual([]);
      });

      it('type-checks against the shim with no new errors', async () => {
        const after = await typeCheck(join(workspace.appDir, 'tsconfig.json'), workspace.appDir);
        const added = newDiagnostics(legacyDiagnostics, after);
        expect(added, formatDiagnostics(added)).toEqual([]);
      });

      const counterRun = (backend: DriverConfig['backend'], dataDir?: string) =>
        runDriver({
          workspace: workspace.root,
          appDir: workspace.appDir,
          mainModule: spec.mainModule,
          moduleKind: spec.moduleKind,
          backend,
          scenario: 'counter',
          ...(dataDir ? { dataDir } : {}),
        });

      it('runs the counter sample on the shim (memory backend)', async () => {
        const run = await counterRun('memory');
        expect(run.increment).toEqual({ status: 200, body: 'Deferred counter increment.' });
        expect(run.counters).toEqual(['0', '10', '20', '30', '30']);
        expect(run.customHandlerRuns).toBe(1);
        expect(run.errorLogs).toEqual([]);
      });

      it('runs the counter sample on the shim (embedded backend)', async () => {
        const dataDir = mkdtempSync(join(tmpdir(), `deferred-e2e-${spec.name}-data-`));
        try {
          const run = await counterRun('embedded', dataDir);
          expect(run.increment).toEqual({ status: 200, body: 'Deferred counter increment.' });
          expect(run.counters).toEqual(['0', '10', '20', '30', '30']);
          expect(run.customHandlerRuns).toBe(1);
          expect(run.errorLogs).toEqual([]);
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      });

      it('runs v0 tasks that the legacy runtime queued before the switch', async () => {
        // The old deployment queues the sample's three tasks...
        captureLegacyLogs();
        legacyQueue.reset();
        const served = await serve(await spec.loadLegacyListener(fixtureDir));
        try {
          expect((await request(served.baseUrl, '/counter/increment')).status).toBe(200);
        } finally {
          await served.close();
        }
        const legacyTasks = legacyQueue.queued().map((task) => ({
          url: task.url,
          queueName: task.queueName,
          payloadBase64: Buffer.from(task.payload).toString('base64'),
        }));
        const v0 = { fn: 'doSomethingLater', args: [process.env.GAE_VERSION ?? 'Missing', 10] };
        expect(legacyTasks.map((task) => JSON.parse(Buffer.from(task.payloadBase64, 'base64').toString()))).toEqual([v0, v0, v0]);
        // ...and delivers them to the migrated app, a fresh process on the shim. The
        // legacy queue cannot sign its requests, so the shim runs in development
        // mode, where the task-name header suffices (as on the dev server).
        const run = await runDriver({
          workspace: workspace.root,
          appDir: workspace.appDir,
          mainModule: spec.mainModule,
          moduleKind: spec.moduleKind,
          backend: 'memory',
          scenario: 'legacy-v0',
          legacyTasks,
        });
        expect(run.deliveries).toEqual([
          { url: '/_ah/queue/deferred', status: 200 },
          { url: '/_ah/queue/deferred', status: 200 },
          { url: '/custom/path', status: 200 },
        ]);
        expect(run.counters).toEqual(['0', '30']);
        expect(run.customHandlerRuns).toBe(1);
        expect(run.errorLogs).toEqual([]);
      });

      if (spec.viaCli) {
        it('produces the same files through the CLI binary (--allow-dirty)', async () => {
          const copy = createWorkspace(spec.name);
          try {
            const cli = await runCli(['--allow-dirty', '.'], copy.appDir);
            expect(cli.code, cli.stderr).toBe(0);
            expect(readTree(copy.appDir)).toEqual(readTree(workspace.appDir));
          } finally {
            copy.dispose();
          }
        });
      }
    });
  });
}
