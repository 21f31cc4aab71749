import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os'
import { MongoClient } from 'mongodb'
import { imageNodeOptions } from './image.js'

/** What the figures were measured on: they mean little without it. */
export interface Machine {
  cpu: string
  cores: number
  memoryGb: number
  node: string
  kernel: string
  /** NODE_OPTIONS of the services, taken from their image. */
  nodeOptions: string
  /** One-minute load average when the run began: other work on the machine shows here. */
  loadAtStart: number
}

export function describeMachine (): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    nodeOptions: imageNodeOptions(),
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100
  }
}

/** "MongoDB 7.0.14" or "FerretDB v1.24.2", from the server's build info. */
export async function mongoServerName (url: string): Promise<string> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 })
  try {
    await client.connect()
    const build = await client.db('admin').command({ buildInfo: 1 })
    return typeof build.ferretdbVersion === 'string'
      ? `FerretDB ${build.ferretdbVersion}`
      : `MongoDB ${String(build.version)}`
  } finally {
    await client.close()
  }
}
