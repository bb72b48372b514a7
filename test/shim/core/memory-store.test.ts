import { MemoryStore } from '../../../shim/backends/local/memory-store.js';
import { describeQueueStore } from './store-conformance.js';

describeQueueStore('MemoryStore', () => new MemoryStore());
