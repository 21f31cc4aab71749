/**
 * Errors the Redis and MongoDB clients raise when their server cannot be
 * reached or does not answer in time. A request that meets one failed
 * because a dependency is down, not because of a bug: it is a 503 the
 * client may retry, not a 500.
 */
const UNREACHABLE_NAMES = new Set([
  // ioredis
  'MaxRetriesPerRequestError',
  // mongodb
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError'
])

// ioredis reports a closed connection and an expired command bound with plain
// errors; these are their messages (enableOfflineQueue: false, commandTimeout).
const UNREACHABLE_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Command timed out'
]

export function isDependencyFailure (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (UNREACHABLE_NAMES.has(error.name)) return true
  return UNREACHABLE_MESSAGES.some((message) => error.message.includes(message))
}
