// Public programmatic API of the codemod.
export { migrate, runRules } from './engine.js';
export { isManual } from './types.js';
export { RULES } from './rewrite/index.js';
export { docsUrl, DOCS_BASE, type Rule, type RuleMeta } from './rewrite/context.js';
export type { Transform, FileInfo, TransformOptions } from './rewrite/single-file.js';
export type * from './types.js';
