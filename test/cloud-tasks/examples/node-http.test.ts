import { describeCounterSequence } from './counter-suite.js';

describeCounterSequence('node-http', async () => (await import('../../../fixtures/examples/node-http/app.js')).createApp());
