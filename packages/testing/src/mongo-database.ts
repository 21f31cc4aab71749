import { MongoClient, type Db } from 'mongodb'
import { uniqueName, type Backing } from './backing.js'

/** A database of its own for one test file, on the server a backing points at. */
export interface MongoTestDatabase {
  db: Db
  /**
   * Why tests of racing writes to one document cannot run on this server, or
   * false when they can. FerretDB 1.x carries out an update, a find-and-modify
   * or a find-and-delete by reading the document and then writing it back (or
   * deleting it) by id, without checking that it is unchanged in between. Two
   * racing conditional writes can then both succeed and one can undo the
   * other. MongoDB applies each single-document write atomically, and the
   * stores are written for that.
   */
  skipRaces: string | false
  /** Drops everything in the database, so the next store starts empty. */
  clear: () => Promise<void>
  /** Drops the database and disconnects. */
  drop: () => Promise<void>
}

/**
 * Connects to the backing's server and picks a database name no other run
 * uses. A server that does not answer fails within seconds, not the driver's
 * default thirty.
 */
export async function openMongoTestDatabase (
  backing: Backing,
  label: string
): Promise<MongoTestDatabase> {
  const client = new MongoClient(backing.url, { serverSelectionTimeoutMS: 3000 })
  await client.connect()
  const db = client.db(uniqueName(label))

  const build = await client.db('admin').command({ buildInfo: 1 })
  const ferretdb = typeof build.ferretdbVersion === 'string' ? build.ferretdbVersion : null

  const skipRaces = ferretdb === null
    ? false
    : `FerretDB ${ferretdb} does not apply single-document writes atomically; MongoDB runs this`

  return {
    db,
    skipRaces,
    clear: async () => { await db.dropDatabase() },
    drop: async () => {
      try {
        await db.dropDatabase()
      } finally {
        await client.close()
      }
    }
  }
}
