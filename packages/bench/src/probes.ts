import type { Deployment } from './deployments.js'
import { rssMb } from './processes.js'

const LAG_MAX = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m

/**
 * The longest event loop stall since the last scrape, in milliseconds, from
 * a service's Prometheus metrics (prom-client resets its delay histogram on
 * every scrape); null when the process exposes no such metric.
 */
export async function eventLoopMaxMs (metricsUrl: string): Promise<number | null> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })
    if (!response.ok) return null
    const value = LAG_MAX.exec(await response.text())?.[1]
    return value === undefined ? null : Number(value) * 1000
  } catch {
    return null
  }
}

export interface HeapFigures {
  /** V8's heap: reserved and in use, in MB. */
  heapTotalMb: number | null
  heapUsedMb: number | null
  /** Memory V8 objects hold outside the heap (buffers, keys), in MB. */
  externalMb: number | null
}

function gauge (text: string, name: string): number | null {
  const value = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text)?.[1]
  return value === undefined ? null : Math.round(Number(value) / 2 ** 20)
}

/**
 * Where a process's memory sits, from its Prometheus metrics: what RSS holds
 * beyond these is native memory (thread stacks, allocator arenas, argon2's
 * working memory, code).
 */
export async function heapOf (metricsUrl: string): Promise<HeapFigures> {
  let text = ''
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })
    if (response.ok) text = await response.text()
  } catch {}
  return {
    heapTotalMb: gauge(text, 'nodejs_heap_size_total_bytes'),
    heapUsedMb: gauge(text, 'nodejs_heap_size_used_bytes'),
    externalMb: gauge(text, 'nodejs_external_memory_bytes')
  }
}

export async function heapsOf (deployment: Deployment): Promise<Record<string, HeapFigures>> {
  const entries = await Promise.all(deployment.metrics.map(async ({ name, url }) =>
    [name, await heapOf(url)] as const))
  return Object.fromEntries(entries)
}

/** The event loop's longest stall of every process of a deployment, by process name. */
export async function eventLoopMaxima (
  deployment: Deployment
): Promise<Record<string, number | null>> {
  const entries = await Promise.all(deployment.metrics.map(async ({ name, url }) =>
    [name, await eventLoopMaxMs(url)] as const))
  return Object.fromEntries(entries)
}

/** Resident memory of every process of a deployment in MB, by process name. */
export function residentMemory (deployment: Deployment): Record<string, number | null> {
  return Object.fromEntries(deployment.processes.map((child) => [child.name, rssMb(child.pid)]))
}
