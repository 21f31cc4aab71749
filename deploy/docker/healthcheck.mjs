// The image's HEALTHCHECK: asks the service's public port for /healthz and
// exits 0 on a 200, 1 otherwise. Written for node so the image needs no curl.

const DEFAULT_PORTS = { auth: 8081, totp: 8082, user: 8083, standalone: 8080 }
const TIMEOUT_MS = 3000

const port = process.env.PORT || DEFAULT_PORTS[process.env.TWOFA_SERVICE]
if (!port) {
  console.error('healthcheck: set PORT or TWOFA_SERVICE')
  process.exit(1)
}

try {
  const url = `http://127.0.0.1:${port}/healthz`
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (response.status !== 200) {
    console.error(`healthcheck: ${url} answered ${response.status}`)
    process.exit(1)
  }
} catch (error) {
  console.error(`healthcheck: ${error.message}`)
  process.exit(1)
}
