// `bench namesrv`: a RocketMQ-compatible name server.
import type { Command } from 'commander';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import { loadPropertiesFile } from './propertiesFile.js';

export function register(program: Command): void {
  program
    .command('namesrv')
    .description('run a RocketMQ-compatible name server (default 127.0.0.1:9876)')
    .option('--port <port>', 'listen port', '9876')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('-c, --config <file>', 'namesrv.properties (listenPort, listenHost)')
    .action(async (options: { port: string; host: string; config?: string }) => {
      const file = options.config ? loadPropertiesFile(options.config) : {};
      const port = Number(file.listenPort ?? options.port);
      const host = file.listenHost ?? options.host;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${options.port} is not a port number`);
      const nameServer = new NameServer();
      const bound = await nameServer.listen(port, host);
      process.stdout.write(`namesrv listening on ${host}:${bound}\n`);
      const stop = () => void nameServer.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
