// Which Google serverless platform the process runs on, from the variables each
// platform sets. There the embedded queue is the wrong default: instances are
// ephemeral and many, the app directory is read-only and /tmp is memory, so a task
// queued there dies with the instance and no other instance ever sees it.

export type ServerlessPlatform = 'app-engine' | 'cloud-run';

export interface PlatformInfo {
  platform: ServerlessPlatform;
  /** The variable that told, for messages ("GAE_APPLICATION is set"). */
  evidence: string;
}

type Env = Record<string, string | undefined>;

/**
 * App Engine sets GAE_APPLICATION (`s~project`) and, on the standard environment,
 * GAE_ENV=standard; its local development server sets GAE_ENV=localdev and a
 * `dev~` application id, which is not production. Cloud Run sets K_SERVICE on
 * services and CLOUD_RUN_JOB on jobs.
 */
export function detectPlatform(env: Env = process.env): PlatformInfo | undefined {
  const localDev = env.GAE_ENV === 'localdev' || env.GAE_APPLICATION?.startsWith('dev~');
  if (!localDev) {
    if (env.GAE_APPLICATION) return { platform: 'app-engine', evidence: 'GAE_APPLICATION' };
    if (env.GAE_ENV) return { platform: 'app-engine', evidence: 'GAE_ENV' };
  }
  if (env.K_SERVICE) return { platform: 'cloud-run', evidence: 'K_SERVICE' };
  if (env.CLOUD_RUN_JOB) return { platform: 'cloud-run', evidence: 'CLOUD_RUN_JOB' };
  return undefined;
}

export function platformName(platform: ServerlessPlatform): string {
  return platform === 'app-engine' ? 'App Engine' : 'Cloud Run';
}

/** The project id in GAE_APPLICATION: `s~my-project` (or `e~`, or a domain-scoped `s~example.com:my-project`). */
export function projectFromAppId(appId: string | undefined): string | undefined {
  if (!appId) return undefined;
  const id = appId.slice(appId.indexOf('~') + 1);
  return id || undefined;
}
