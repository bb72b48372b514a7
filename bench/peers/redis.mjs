// A private redis-server for the peer bench: loopback only, a free port, a
// temporary directory, the persistence asked for; stopped by `stop()` (and
// killed if the bench exits first).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The installed redis-server's version line, or undefined when there is none. */
export function redisServerVersion() {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

export const PERSISTENCE = {
  // Closest to our WAL + synchronous=NORMAL: every write is appended to the AOF at once
  // (in the OS page cache, so it survives the process being killed), fsync once a second.
  aof: { label: 'AOF, appendfsync everysec', args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''] },
  none: { label: 'no persistence', args: ['--appendonly', 'no', '--save', ''] },
};

/** Starts redis-server with `persistence` ('aof' | 'none'); `client()` makes an ioredis connection to it. */
export async function startRedis(persistence, IORedis) {
  const dir = mkdtempSync(join(tmpdir(), `dm-bench-redis-${persistence}-`));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--logfile', '', ...PERSISTENCE[persistence].args],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  const client = () => new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, lazyConnect: false });
  const admin = client();
  admin.on('error', () => {}); // connection refused while it starts: retried by ioredis
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await admin.ping()) === 'PONG') break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}: ${error.message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    pid: child.pid,
    label: PERSISTENCE[persistence].label,
    flush: () => admin.flushall(),
    /** redis-server's own CPU seconds so far (user + system). */
    async cpuSeconds() {
      const info = await admin.info('cpu');
      const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
      return field('used_cpu_user') + field('used_cpu_sys');
    },
    async stop() {
      admin.disconnect();
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
