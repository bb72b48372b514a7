import { main } from '../../fixtures/examples/koa/app.js';
import { describeCounterScenario } from './counter-scenario.js';

describeCounterScenario('Koa (the Django sample)', main, 'koa');
