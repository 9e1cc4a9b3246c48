/**
 * A layer-4 load balancer in front of several Temporal frontends, as an operator puts one (or a DNS name with
 * several addresses) in front of a real cluster: each client connection goes to the next frontend in turn, and
 * to the one after it when that one refuses. TLS passes through untouched (mTLS is between client and frontend).
 * When a frontend dies, the connections through it close and the clients reconnect, to a live one.
 */
import net from 'node:net';

export interface TcpBalancer {
  port: number;
  /** Connections handed to each backend port so far. */
  connections: Map<number, number>;
  close: () => Promise<void>;
}

export async function startTcpBalancer(backendPorts: number[], host = '127.0.0.1'): Promise<TcpBalancer> {
  let next = 0;
  const connections = new Map<number, number>(backendPorts.map((port) => [port, 0]));
  const open = new Set<net.Socket>();

  const connectFrom = (client: net.Socket, tried: number): void => {
    if (tried >= backendPorts.length) {
      client.destroy();
      return;
    }
    const port = backendPorts[next++ % backendPorts.length]!;
    const upstream = net.connect({ host, port });
    let established = false;
    upstream.once('connect', () => {
      established = true;
      connections.set(port, (connections.get(port) ?? 0) + 1);
      open.add(upstream);
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      client.resume();
    });
    upstream.on('error', () => {
      if (!established) connectFrom(client, tried + 1);
      else client.destroy();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      if (established) client.destroy();
    });
  };

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    open.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => open.delete(client));
    connectFrom(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
