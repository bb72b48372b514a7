// Preloaded with `node --import` into a measured child: on exit, writes the process's
// peak resident set size (kilobytes) to the file named by BENCH_MAX_RSS_FILE.
import { writeFileSync } from 'node:fs';

const out = process.env.BENCH_MAX_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS)));
