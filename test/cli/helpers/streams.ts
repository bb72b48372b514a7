// In-memory stdout/stderr for driving runCli in process.
import type { CliStream } from '../../../cli/main.js';

export interface CapturedStream extends CliStream {
  text(): string;
}

export function capture(isTTY = false): CapturedStream {
  const chunks: string[] = [];
  return {
    isTTY,
    write(text: string) {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(''),
  };
}
