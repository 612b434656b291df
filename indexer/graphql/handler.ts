import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga } from 'graphql-yoga';
import type { Logger } from '../../lib/log.ts';
import type { Sql } from '../store/sql.ts';
import { buildSchema } from './schema.ts';

/**
 * POST/GET /graphql through graphql-yoga (GraphQL over HTTP: parse and validation errors come
 * back as GraphQL errors, never as a crash). Resolver errors other than GraphQLErrors are
 * masked and logged.
 */
export function createGraphqlHandler(sql: Sql, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const yoga = createYoga({
    schema: buildSchema(sql),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false,
    logging: {
      debug: (...a: unknown[]) => log.debug({ a }, 'graphql'),
      info: (...a: unknown[]) => log.debug({ a }, 'graphql'),
      warn: (...a: unknown[]) => log.warn({ a }, 'graphql'),
      error: (...a: unknown[]) => log.error({ a }, 'graphql'),
    },
    cors: { origin: '*' },
  });
  return (req, res) => void yoga(req, res);
}
