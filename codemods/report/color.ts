// Terminal colour: one decision per output stream, ANSI SGR codes only.

export interface ColorDecisionInput {
  /** `--color` (true) / `--no-color` (false) / neither (undefined). */
  flag?: boolean;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

/**
 * Precedence, highest first: the flag; `FORCE_COLOR` (any value but `0`/`false`
 * enables, those disable); `NO_COLOR` (any non-empty value disables, see
 * no-color.org); otherwise colour only on a TTY whose `TERM` is not `dumb`.
 * Node itself ranks FORCE_COLOR above NO_COLOR the same way.
 */
export function useColor({ flag, env, isTTY }: ColorDecisionInput): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}

export type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'bold' | 'dim';
const SGR: Record<Style, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  bold: [1, 22],
  dim: [2, 22],
};

export type Painter = (style: Style, text: string) => string;

export function painter(enabled: boolean): Painter {
  if (!enabled) return (_style, text) => text;
  return (style, text) => `\u001b[${SGR[style][0]}m${text}\u001b[${SGR[style][1]}m`;
}
