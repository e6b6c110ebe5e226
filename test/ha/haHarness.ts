// Shared helpers for the HA tests: temp stores, a pausable TCP proxy between slave and
// master, an fdatasync recorder, an in-memory logger, bounded waits.
import fs from 'node:fs';
import net from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../protocol/logger.js';
import { HAMaster, type HAMasterSettings } from '../../broker/ha/haMaster.js';
import { HASlave, type HASlaveSettings } from '../../broker/ha/haSlave.js';
import { type FileIo, nodeFileIo } from '../../broker/store/fileIo.js';
import { encodeSocketAddress, type MessageToStore } from '../../broker/store/messageCodec.js';
import { MessageStore } from '../../broker/store/messageStore.js';
import { type BrokerRole, defaultStoreConfig, type FlushDiskType, type StoreConfig } from '../../broker/store/storeConfig.js';
import { scratchDir } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

export const SEGMENT_BYTES = 256 * 1024;

export function storeConfig(dir: string, brokerRole: BrokerRole, flushDiskType: FlushDiskType, overrides: Partial<StoreConfig> = {}): StoreConfig {
  return {
    ...defaultStoreConfig(dir),
    brokerRole,
    flushDiskType,
    mappedFileSizeCommitLog: SEGMENT_BYTES,
    mappedFileSizeConsumeQueue: 20 * 4096,
    flushIntervalCommitLog: 50,
    ...overrides,
  };
}

const HOST = encodeSocketAddress('127.0.0.1', 10911);

/** A message with TAGS and a UNIQ_KEY, so records have properties the HA split may cut. */
export function message(topic: string, queueId: number, bodyBytes: number, seq: number): MessageToStore {
  const body = Buffer.alloc(bodyBytes, (seq % 26) + 97);
  body.writeUInt32BE(seq >>> 0, 0);
  return {
    topic, queueId, flag: 0, body,
    properties: `TAGS\u0001tag${seq % 5}\u0002UNIQ_KEY\u0001${seq.toString(16).padStart(32, '0')}\u0002WAIT\u0001true`,
    sysFlag: 0, bornTimestamp: Date.now(), bornHost: HOST, storeHost: HOST, reconsumeTimes: 0, preparedTransactionOffset: 0,
  };
}

/** Reads committed CommitLog bytes [from, to) segment by segment. */
export function commitLogBytes(store: MessageStore, from: number, to: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = from; at < to;) {
    const part = store.commitLog.readCommittedSync(at, to - at);
    if (!part || part.length === 0) throw new Error(`no committed data at ${at} (wanted up to ${to})`);
    parts.push(part);
    at += part.length;
  }
  return Buffer.concat(parts);
}

/** FileIo that records every completed fdatasync with the committed end of its segment at call time. */
export class FsyncRecorder {
  readonly completions: Array<{ fd: number; coveredEnd: number }> = [];
  store: MessageStore | null = null;
  readonly io: FileIo = {
    ...nodeFileIo,
    fdatasync: async (fd) => {
      const segment = this.store?.commitLog.segments.find((s) => s.fd === fd);
      const coveredEnd = segment ? segment.fileFromOffset + segment.committedPosition : -1;
      await nodeFileIo.fdatasync(fd);
      this.completions.push({ fd, coveredEnd });
    },
  };

  /** Whether a completed fdatasync on `fd` covered `endOffset`. */
  covered(fd: number, endOffset: number): boolean {
    return this.completions.some((c) => c.fd === fd && c.coveredEnd >= endOffset);
  }
}

export function memoryLogger(): { logger: Logger; lines: () => string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => void lines.push(line) });
  return { logger, lines: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

/** A TCP proxy that can freeze both directions (a hung slave) or cut every connection. */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private paused = false;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
        from.on('data', (chunk: Buffer) => to.write(chunk));
        from.on('close', end);
        from.on('error', end);
        if (this.paused) from.pause();
      }
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  pause(): void {
    this.paused = true;
    for (const [client, upstream] of this.pairs) {
      client.pause();
      upstream.pause();
    }
  }

  resume(): void {
    this.paused = false;
    for (const [client, upstream] of this.pairs) {
      client.resume();
      upstream.resume();
    }
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface PairOptions {
  masterFlush: FlushDiskType;
  masterRole: 'ASYNC_MASTER' | 'SYNC_MASTER';
  slaveFlush: FlushDiskType;
  master?: Partial<HAMasterSettings>;
  slave?: Partial<HASlaveSettings>;
  /** Put a pausable proxy between slave and master. */
  proxy?: boolean;
  /** Do not start the slave yet. */
  holdSlave?: boolean;
  masterDir?: string;
  slaveDir?: string;
  /** Store settings for both nodes (e.g. a larger segment). */
  store?: Partial<StoreConfig>;
}

/** A master store + HAMaster and a slave store + HASlave in temp dirs; close() tears everything down. */
export class Pair {
  readonly fsyncs = new FsyncRecorder();
  master!: MessageStore;
  slave!: MessageStore;
  haMaster!: HAMaster;
  haSlave!: HASlave;
  proxy: TcpProxy | null = null;
  /** The port the slave is told to use (the proxy's when there is one); read on every connect. */
  haPort = 0;
  masterHaPort = 0;
  slaveDir = '';
  masterDir = '';
  private slaveStarted = false;

  static async open(options: PairOptions): Promise<Pair> {
    const pair = new Pair(options);
    await pair.init();
    return pair;
  }

  private constructor(readonly options: PairOptions) {}

  private async init(): Promise<void> {
    const o = this.options;
    this.masterDir = o.masterDir ?? scratchDir('ha-master');
    this.master = await MessageStore.open(storeConfig(this.masterDir, o.masterRole, o.masterFlush, o.store), this.fsyncs.io);
    this.fsyncs.store = this.master;
    // Tests shrink RocketMQ's 1 s GroupTransferService wait as they shrink timeouts; test/ha/haTiming.test.ts uses the real ones.
    this.haMaster = new HAMaster(this.master, { haListenPort: 0, slaveAckTimeoutMs: 3000, slaveAckDeadlineSource: 'slaveTimeout', transferWaitMs: 10, ...o.master });
    this.haPort = this.masterHaPort = await this.haMaster.start();
    if (o.proxy) {
      this.proxy = new TcpProxy(this.haPort);
      this.haPort = await this.proxy.start();
    }
    this.slaveDir = o.slaveDir ?? scratchDir('ha-slave');
    this.slave = await this.openSlaveStore();
    this.haSlave = this.newSlave();
    if (!o.holdSlave) this.startSlave();
  }

  /** Opens (or re-opens after shutdown) the slave's store. */
  openSlaveStore(): Promise<MessageStore> {
    return MessageStore.open(storeConfig(this.slaveDir, 'SLAVE', this.options.slaveFlush, this.options.store));
  }

  newSlave(): HASlave {
    // The first report waits haSendHeartbeatInterval (RocketMQ: 5 s); 100 ms keeps these tests fast.
    return new HASlave(this.slave, { masterHaAddress: () => `127.0.0.1:${this.haPort}`, reconnectMinMs: 50, reconnectMaxMs: 200, haSendHeartbeatInterval: 100, ...this.options.slave });
  }

  startSlave(): void {
    this.slaveStarted = true;
    this.haSlave.start();
  }

  /** Waits until the slave's CommitLog ends where the master's does. */
  async caughtUp(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.slave.commitLog.maxCommittedOffset === this.master.commitLog.maxCommittedOffset
      && this.master.commitLog.maxCommittedOffset === this.master.commitLog.maxWroteOffset
      && this.haMaster.slaveAckOffset === this.master.commitLog.maxCommittedOffset, 'the slave to catch up', timeoutMs);
  }

  async close(): Promise<void> {
    if (this.slaveStarted) await this.haSlave.close();
    this.slaveStarted = false;
    await this.haMaster.close();
    await this.proxy?.close();
    await this.slave.shutdown();
    await this.master.shutdown();
    for (const dir of [this.masterDir, this.slaveDir]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `count` messages into a store at `dir` opened as a master, then shuts it down; returns record ends. */
export async function prefill(dir: string, count: number, bodyBytes: number, firstSeq: number): Promise<number[]> {
  const store = await MessageStore.open(storeConfig(dir, 'ASYNC_MASTER', 'ASYNC_FLUSH'));
  const ends: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const result = await store.putMessage(message('PrefillTopic', i % 2, bodyBytes, firstSeq + i));
      if (result.status !== 'PUT_OK') throw new Error(`prefill put: ${result.status}`);
      ends.push(result.physicalOffset + result.sizeBytes);
    }
  } finally {
    await store.shutdown();
  }
  return ends;
}
