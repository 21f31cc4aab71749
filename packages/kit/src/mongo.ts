import { MongoClient, type Db } from 'mongodb'

export interface MongoSettings {
  url: string
  database: string
  serverSelectionTimeoutMs?: number
}

export interface MongoConnection {
  client: MongoClient
  db: Db
  /** Set when the server is FerretDB rather than MongoDB: its version. */
  ferretdb: string | null
}

/**
 * Connects to MongoDB (or a wire-compatible server) and checks it answers
 * before the service starts taking requests.
 */
export async function connectMongo (settings: MongoSettings): Promise<MongoConnection> {
  const client = new MongoClient(settings.url, {
    serverSelectionTimeoutMS: settings.serverSelectionTimeoutMs ?? 5000,
    appName: 'twofa'
  })

  await client.connect()
  const db = client.db(settings.database)
  await db.command({ ping: 1 })
  const build = await db.admin().command({ buildInfo: 1 })
  const ferretdb = typeof build.ferretdbVersion === 'string' ? build.ferretdbVersion : null

  return { client, db, ferretdb }
}

/**
 * FerretDB 1.x speaks the MongoDB protocol but applies an update as read,
 * change, write back: concurrent updates of one document can lose each other.
 * Fine for tests; a production deployment wants MongoDB.
 */
export const FERRETDB_WARNING =
  'connected to FerretDB: its single-document updates are not atomic under concurrency; ' +
  'use MongoDB in production'

/** True for MongoDB's duplicate key error (E11000). */
export function isDuplicateKeyError (error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
}
