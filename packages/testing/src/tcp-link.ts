import net from 'node:net'

/**
 * A TCP relay on loopback between a service and a backing server (Redis,
 * RabbitMQ), so a test can take the server away from that service alone:
 * the real server stays up for everyone else on the machine.
 */
export class TcpLink {
  port = 0
  private server: net.Server | null = null
  private readonly sockets = new Set<net.Socket>()
  private held: net.Socket[] = []
  private holding = false

  /** `target` is the real server's address, e.g. redis://127.0.0.1:6379. */
  constructor (private readonly target: URL, private readonly defaultPort: number) {}

  /** The target's address with the link's port in its place. */
  get url (): string {
    const url = new URL(this.target)
    url.host = `127.0.0.1:${this.port}`
    return url.toString()
  }

  /** Listens (again, on the same port after a cut) and passes connections on. */
  async open (): Promise<void> {
    const server = net.createServer((client) => {
      this.track(client)
      if (this.holding) this.held.push(client)
      else this.pipe(client)
    })
    this.server = server
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as net.AddressInfo).port
  }

  /** Drops every connection and refuses new ones, as a stopped server would, until `open`. */
  async cut (): Promise<void> {
    const server = this.server
    this.server = null
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise((resolve) => server.close(resolve))
  }

  /** Accepts new connections but passes nothing on until `release`, as a hung server would. */
  hold (): void {
    this.holding = true
  }

  release (): void {
    this.holding = false
    for (const client of this.held) if (!client.destroyed) this.pipe(client)
    this.held = []
  }

  private pipe (client: net.Socket): void {
    const upstream = net.connect(Number(this.target.port || this.defaultPort), this.target.hostname)
    this.track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    upstream.on('close', () => client.destroy())
    client.on('close', () => upstream.destroy())
  }

  private track (socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => this.sockets.delete(socket))
  }
}

/** Opens a link to `url` (a redis:// or amqp:// address). */
export async function openTcpLink (url: string): Promise<TcpLink> {
  const target = new URL(url)
  const link = new TcpLink(target, target.protocol.startsWith('amqp') ? 5672 : 6379)
  await link.open()
  return link
}
