import type { Resolvers } from '../generated/resolvers-types.js';
import { authResolvers } from '../../sign-in/sign-in.resolvers.js';
import { emailResolvers } from '../../email/email.resolvers.js';
import { DateTimeScalar } from './scalars.js';
import { sessionResolvers } from '../../sessions/sessions.resolvers.js';
import { subscriptionResolvers } from '../../sessions/subscription.resolvers.js';
import { totpResolvers } from '../../mfa/mfa.resolvers.js';
import { userResolvers } from '../../accounts/accounts.resolvers.js';

/** Every resolver, merged by type. */
export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: { ...authResolvers.Query, ...sessionResolvers.Query, ...userResolvers.Query },
  Mutation: { ...authResolvers.Mutation, ...sessionResolvers.Mutation, ...userResolvers.Mutation, ...emailResolvers.Mutation, ...totpResolvers.Mutation },
  Protected: authResolvers.Protected,
  Session: sessionResolvers.Session,
  Subscription: subscriptionResolvers.Subscription,
  User: totpResolvers.User,
};
