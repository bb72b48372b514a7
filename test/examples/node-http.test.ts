import { main } from '../../fixtures/examples/node-http/app.js';
import { describeCounterScenario } from './counter-scenario.js';

describeCounterScenario('node:http (the no-framework sample)', main, 'node-http');
