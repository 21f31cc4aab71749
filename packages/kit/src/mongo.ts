import { MongoClient, type Db } from 'mongodb'

export interface MongoSettings {
  url: string
  database: string
  serverSelectionTimeoutMs?: number
}

export interface MongoConnection {
  client: MongoClient
  db: Db
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

  return { client, db }
}

/** True for MongoDB's duplicate key error (E11000). */
export function isDuplicateKeyError (error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
}
