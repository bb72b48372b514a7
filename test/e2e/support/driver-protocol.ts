// Starts after-driver.ts in a fresh Node process and returns what it observed.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface DriverConfig {
  workspace: string;
  appDir: string;
  /** Module exporting `main(port): Server | Promise<Server>`, relative to appDir. */
  mainModule: string;
  moduleKind: 'esm' | 'cjs';
  backend: 'memory' | 'embedded';
  dataDir?: string;
  scenario: 'counter' | 'legacy-v0';
  /** For 'legacy-v0': tasks as the legacy runtime queued them. */
  legacyTasks?: Array<{ url: string; queueName: string; payloadBase64: string }>;
}

export interface DriverResult {
  /** `/counter/get` at the start and after each step. */
  counters: string[];
  increment?: { status: number; body: string };
  deliveries?: Array<{ url: string; status: number }>;
  /** How often the app's custom TaskHandler subclass ran (it logs `Executing deferred task.`). */
  customHandlerRuns: number;
  /** What the shim logged at error level. */
  errorLogs: string[];
}

export const RESULT_MARKER = 'E2E_RESULT ';

const DRIVER = fileURLToPath(new URL('./after-driver.ts', import.meta.url));

export function runDriver(config: DriverConfig): Promise<DriverResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', DRIVER, JSON.stringify(config)],
      { cwd: config.appDir, timeout: 60_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_MARKER));
        if (error || !line) {
          reject(new Error(`after-driver failed (${error?.message ?? 'no result'})\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          return;
        }
        resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as DriverResult);
      },
    );
  });
}
