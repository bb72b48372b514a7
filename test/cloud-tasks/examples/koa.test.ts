import { describeCounterSequence } from './counter-suite.js';

describeCounterSequence('koa', async () => (await import('../../../fixtures/examples/koa/app.js')).createApp());
