import { describeCounterSequence } from './counter-suite.js';

describeCounterSequence('express', async () => (await import('../../../fixtures/examples/express/app.js')).createApp());
