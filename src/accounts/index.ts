/** The accounts feature's port. */
export { createAccountsFeature } from './accounts.feature.js';
