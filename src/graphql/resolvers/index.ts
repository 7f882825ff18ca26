import type { Resolvers } from '../generated/resolvers-types.js';
import { authResolvers } from './auth.resolvers.js';
import { emailResolvers } from './email.resolvers.js';
import { DateTimeScalar } from './scalars.js';
import { sessionResolvers } from './session.resolvers.js';
import { subscriptionResolvers } from './subscription.resolvers.js';
import { totpResolvers } from './totp.resolvers.js';
import { userResolvers } from './user.resolvers.js';

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
