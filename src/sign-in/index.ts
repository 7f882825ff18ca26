/** The sign-in feature's port: what other features and the app may use of it. */
export { createSignInFeature, type SignInFeature } from './sign-in.feature.js';
export type { FederatedFirstFactor, FirstFactorAttempt, FirstFactorCheck, FirstFactorProof, SecondFactor } from './factor.js';
/** Sign-ins half-way through (first factor given, code pending) end when a user's factors change. */
export { deleteMfaTokensOfUser } from './mfa-token.repository.js';
