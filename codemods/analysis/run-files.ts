// The run's source files as relative specifiers name them: by their path without a
// script extension, or by a directory holding an index file. The text scan asks it of
// every relative specifier of the tree (on the scan's threads), so that only the few
// that name no file of the run reach the outside-module check (outside-modules.ts).
import { basename, dirname, resolve, sep } from 'node:path';
import type { DiscoveredFile } from './discover.js';

const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/**
 * `dir` joined with a relative specifier: `./` and `../` steps by hand (path.resolve's
 * normalising costs more, on every import of the tree), anything unusual by path.resolve.
 */
export function joinRelative(dir: string, specifier: string): string {
  let base = dir;
  let i = 0;
  for (;;) {
    if (specifier.startsWith('./', i)) i += 2;
    else if (specifier.startsWith('../', i)) {
      const cut = base.lastIndexOf(sep);
      if (cut <= 0) return resolve(dir, specifier);
      base = base.slice(0, cut);
      i += 3;
    } else break;
  }
  const rest = specifier.slice(i);
  if (rest === '' || rest === '.' || rest === '..' || rest.startsWith('/') || rest.includes('/.') || rest.endsWith('/') || rest.includes('\\') || rest.includes('//')) return resolve(dir, specifier);
  return sep === '/' ? `${base}/${rest}` : `${base}${sep}${rest.replace(/\//g, sep)}`;
}

export class RunFiles {
  /** Source paths without their script extension, and the directories holding an index file. */
  private readonly stems = new Set<string>();

  constructor(files: readonly DiscoveredFile[]) {
    for (const file of files) {
      if (file.kind !== 'source') continue;
      const stem = file.absPath.replace(SCRIPT, '');
      this.stems.add(stem);
      if (basename(stem) === 'index') this.stems.add(dirname(stem));
    }
  }

  /** Whether the path a relative specifier names is a source file of the run, found by its stem (false: not found this way). */
  names(base: string): boolean {
    if (this.stems.has(base)) return true;
    const stem = base.replace(SCRIPT, '');
    return stem !== base && this.stems.has(stem);
  }

  /** The relative specifiers of a file in `dir` that name no source file of the run by their stem. */
  unnamed(dir: string, specifiers: readonly string[]): string[] {
    let unnamed: string[] | undefined;
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.') || this.names(joinRelative(dir, specifier))) continue;
      (unnamed ??= []).push(specifier);
    }
    return unnamed ?? NONE;
  }
}

const NONE: string[] = [];

const byFileList = new WeakMap<readonly DiscoveredFile[], RunFiles>();

/** The run files of a discovery's file list (one per list: both passes and every scan share it). */
export function runFilesOf(files: readonly DiscoveredFile[]): RunFiles {
  let runFiles = byFileList.get(files);
  if (!runFiles) byFileList.set(files, (runFiles = new RunFiles(files)));
  return runFiles;
}
