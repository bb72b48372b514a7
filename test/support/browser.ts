// A real headless Chromium for browser tests, through puppeteer-core (which downloads
// nothing). Found at CHROMIUM_PATH or the Debian/Ubuntu/Chrome install paths; with
// none, the calling suite skips and says why. Nothing is installed at run time:
// .ci/run installs the `chromium` package.
import { existsSync } from 'node:fs';
import type { Browser } from 'puppeteer-core';

const WELL_KNOWN_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

export function findChromium(env: Record<string, string | undefined> = process.env): string | undefined {
  const configured = env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  return WELL_KNOWN_PATHS.find((path) => existsSync(path));
}

export const chromiumPath = findChromium();

/** Why browser tests skip here, or undefined when they run. */
export const noBrowserReason =
  chromiumPath === undefined
    ? process.env.CHROMIUM_PATH
      ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist`
      : `no Chromium at CHROMIUM_PATH or ${WELL_KNOWN_PATHS.join(', ')} (apt-get install chromium)`
    : undefined;

export async function launchChromium(): Promise<Browser> {
  if (chromiumPath === undefined) throw new Error(noBrowserReason);
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}
