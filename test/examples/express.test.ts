import { main } from '../../fixtures/examples/express/app.js';
import { describeCounterScenario } from './counter-scenario.js';

describeCounterScenario('Express (the Flask sample)', main, 'express');
