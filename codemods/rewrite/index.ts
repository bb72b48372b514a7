// The rules in the order the engine runs them: the import rule last, because it
// needs to know which legacy references the other rules removed or reused.
import { rule as appYaml } from './app-yaml.js';
import type { Rule } from './context.js';
import { rule as deferOptions } from './defer-options.js';
import { rule as deferRegistration } from './defer-registration.js';
import { rule as deferResult } from './defer-result.js';
import { rule as imports } from './imports.js';
import { rule as processExit } from './process-exit.js';
import { rule as queueYaml } from './queue-yaml.js';
import { rule as routeTable } from './route-table.js';
import { rule as syncErrorHandling } from './sync-error-handling.js';
import { rule as taskHandlerSubclass } from './task-handler-subclass.js';
import { rule as wrapApp } from './wrap-app.js';

export const RULES: readonly Rule[] = [appYaml, queueYaml, deferOptions, deferResult, processExit, syncErrorHandling, deferRegistration, taskHandlerSubclass, routeTable, wrapApp, imports];

export { RuleOutput, docsUrl, type Rule, type RuleMeta } from './context.js';
