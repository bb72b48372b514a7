// HTML output for the dashboard: every interpolated value is escaped unless it is
// already `SafeHtml` (the result of another `html` template). Task arguments, task
// names, queue names and error messages are attacker-controlled text, so nothing
// reaches a page except through `html` or `escapeHtml`.

/** Markup known to be safe: only `html` templates and `unsafeRaw` make one. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for an element body or a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export type HtmlValue = SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, every `${value}` is escaped text (arrays joined). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Markup the dashboard itself produced (e.g. the chart's numbers-only SVG path). Never for outside text. */
export function unsafeRaw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
