import { beforeAll } from 'vitest';
import { serviceUrls } from './backend.js';

// Runs before every PostgreSQL/Redis test file: without the services these
// tests must fail loudly (CI), never pass by testing nothing.
beforeAll(() => {
  serviceUrls();
});
