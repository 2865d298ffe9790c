// A TCP proxy the chaos suite controls, in front of the database or the broker for one service
// process. `cut()` is a network partition as a process sees it: nothing passes any more, but no
// connection is closed or refused (no RST, no FIN), so each side only finds out by its own
// timeouts. `heal()` lets everything pass again, the held connections included.
import net from 'node:net';

export class TcpProxy {
  /** @param {{ name: string, listenPort: number, targetPort: number, host?: string }} options */
  constructor({ name, listenPort, targetPort, host = '127.0.0.1' }) {
    this.name = name;
    this.listenPort = listenPort;
    this.targetPort = targetPort;
    this.host = host;
    this.isCut = false;
    /** Client sockets and their upstream (null while held by a cut). */
    this.pairs = new Set();
    this.server = net.createServer((client) => this.accept(client));
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenPort, this.host, () => resolve(this));
    });
  }

  accept(client) {
    const pair = { client, upstream: null };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      this.pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (this.isCut) client.pause();
    else this.connect(pair);
  }

  connect(pair) {
    const upstream = net.connect({ host: this.host, port: this.targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => pair.client.destroy());
    upstream.on('close', () => pair.client.destroy());
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  /** Nothing passes any more, both ways; connections stay open. */
  cut() {
    this.isCut = true;
    for (const { client, upstream } of this.pairs) {
      // Unpiped, not only paused: a pipe resumes its source when the destination drains.
      if (upstream) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.pause();
      }
      client.pause();
    }
  }

  heal() {
    this.isCut = false;
    for (const pair of this.pairs) {
      if (pair.upstream) {
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
        pair.upstream.resume();
        pair.client.resume();
      } else {
        pair.client.resume();
        this.connect(pair);
      }
    }
  }

  close() {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.pairs.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
