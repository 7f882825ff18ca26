import type { Viewer } from '../../sessions/ports.js';
import type { GraphQLContext } from '../context.js';

/**
 * The viewer of a field the permission layer has already guarded. Throws (an
 * internal error) only if a field lost its rule: a bug, never a denial.
 */
export function viewerOf(ctx: GraphQLContext): Viewer {
  if (ctx.viewer === null) throw new Error('guarded field reached without a viewer: check its directive in schema/');
  return ctx.viewer;
}
