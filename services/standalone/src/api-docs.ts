import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { createLogger } from '@twofa/kit'
import { resolveSecrets } from './dev-secrets.js'
import { buildSystem } from './system.js'

/** Where `pnpm openapi` writes the document, and where the drift test reads it. */
export const API_DOCUMENT_FILE = new URL('../openapi.json', import.meta.url)

interface Operation {
  summary: string
  /** Needs an access token: the bearer header, or the browser session cookie. */
  signedIn?: true
}

/**
 * What the route schemas do not say. Keyed by method and route pattern; a
 * route missing here is still documented, without a summary.
 */
const OPERATIONS: Record<string, Operation> = {
  'POST /api/users': { summary: 'Create an account' },
  'GET /api/users/me': { summary: 'The signed-in user\'s profile', signedIn: true },
  'POST /api/sso/token': { summary: 'Sign in with email and password' },
  'POST /api/sso/verify-2fa': { summary: 'Finish a sign-in with a TOTP code or a recovery code' },
  'POST /api/sso/logout': { summary: 'Clear the browser session cookies' },
  'GET /.well-known/jwks.json': { summary: 'The public keys that verify access tokens' },
  'GET /api/2fa/status': { summary: 'Whether 2FA is on, and recovery codes left', signedIn: true },
  'POST /api/2fa/setup': { summary: 'Start a 2FA setup: a new secret and QR code', signedIn: true },
  'POST /api/2fa/enable': {
    summary: 'Confirm the setup with a code; returns recovery codes',
    signedIn: true
  },
  'POST /api/2fa/disable': {
    summary: 'Turn 2FA off with a code or a recovery code',
    signedIn: true
  },
  'POST /api/2fa/recovery-codes': { summary: 'Replace the recovery codes', signedIn: true },
  'GET /api/admin/users': { summary: 'List users, optionally by email prefix', signedIn: true },
  'GET /api/admin/users/:id': { summary: 'One user\'s profile', signedIn: true },
  'DELETE /api/admin/users/:id': { summary: 'Delete a user', signedIn: true },
  'DELETE /api/admin/users/:id/2fa': {
    summary: 'Turn a user\'s 2FA off (account recovery)',
    signedIn: true
  },
  'GET /healthz': { summary: 'The process is alive' },
  'GET /readyz': { summary: 'The backing services answer and the process is not stopping' }
}

const TAGS: Array<[prefix: string, tag: string]> = [
  ['/api/sso/', 'sign-in'],
  ['/.well-known/', 'sign-in'],
  ['/api/2fa/', 'two-factor'],
  ['/api/admin/', 'admin'],
  ['/api/users', 'users'],
  ['/healthz', 'health'],
  ['/readyz', 'health']
]

/** Every error answer is `{error, message}`, sometimes with more fields. */
function errorBody (description: string) {
  return {
    description,
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string' }, message: { type: 'string' } }
  }
}

const errorResponses = {
  '4xx': errorBody('Refused: `error` says why (see the README for each code)'),
  '5xx': errorBody('Failed on our side, or a service this request needs is unavailable')
}

function describe (schema: FastifySchema | undefined, url: string, method: string): FastifySchema {
  const operation = OPERATIONS[`${method} ${url}`]
  const tag = TAGS.find(([prefix]) => url.startsWith(prefix))?.[1]
  const responses = (schema?.response ?? {}) as Record<string, unknown>

  return {
    ...schema,
    ...(operation ? { summary: operation.summary } : {}),
    ...(tag ? { tags: [tag] } : {}),
    ...(operation?.signedIn ? { security: [{ bearer: [] }, { session: [] }] } : {}),
    response: { ...responses, ...errorResponses }
  } as FastifySchema
}

function version (): string {
  const manifest = new URL('../package.json', import.meta.url)
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
}

/**
 * Adds the OpenAPI document, built from the schemas of the routes
 * registered after it, and the browsable docs at `/docs`, to the app itself
 * (not an encapsulated plugin, which would see none of its routes). Call it
 * before any route.
 */
export async function registerApiDocs (app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'twofa',
        version: version(),
        description: 'Sign-in with a password and a TOTP second factor. ' +
          'Every body is JSON in snake_case; every error is {error, message}.'
      },
      tags: [
        { name: 'sign-in', description: 'Password, then second factor; the JWKS' },
        { name: 'two-factor', description: 'The signed-in user\'s own 2FA settings' },
        { name: 'users', description: 'Sign-up and the own profile' },
        { name: 'admin', description: 'Needs the admin role and a sign-in with 2FA' },
        { name: 'health', description: 'Probes' }
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          session: { type: 'apiKey', in: 'cookie', name: 'twofa_session' }
        }
      }
    },
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? String(route.method[0]) : route.method
      return { schema: describe(schema, url, method), url }
    }
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' })
}

/**
 * The OpenAPI document of the public API, from the one-process app built on
 * in-memory stand-ins: nothing is listened on or connected to.
 */
export async function buildApiDocument (): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'twofa-openapi-'))
  try {
    const { secrets } = resolveSecrets({}, dir)
    const env = {
      REDIS_URL: 'memory://',
      MONGO_URL: 'memory://',
      AMQP_URL: 'memory://',
      ...secrets
    }
    const system = await buildSystem(env, (service) => createLogger({ service, level: 'silent' }))
    try {
      await system.app.ready()
      return system.app.swagger()
    } finally {
      await system.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
