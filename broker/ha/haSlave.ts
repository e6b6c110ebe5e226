// The slave side of RocketMQ 4.x classic HA (HAClient): connects to the master's HA port,
// reports its CommitLog end, appends what the master streams, and reports again. The offset
// reported is the WRITTEN end (page cache), not the flushed one — see README.md.
import net from 'node:net';
import { errorMessage } from '../../protocol/errors.js';
import { childLogger, type Logger } from '../../protocol/logger.js';
import type { MessageStore } from '../store/messageStore.js';
import { BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, RecordField, readInt64 } from '../store/messageCodec.js';
import { HA_DEFAULTS } from '../store/storeSettings.js';
import { encodeAck, type HAFrame, HAFrameParser } from './haProtocol.js';

export interface HASlaveSettings {
  /** haMasterAddress ("host:port"), or the haServerAddr learned from the name server; null = unknown yet. */
  masterHaAddress: () => string | null;
  /** Report the offset at least this often (default 5000 ms). */
  haSendHeartbeatInterval?: number;
  /** Drop the connection when nothing was read for this long (default 20000 ms). */
  haHousekeepingInterval?: number;
  /** First reconnect delay (default 1000 ms), doubling up to reconnectMaxMs (default 5000, RocketMQ's retry period). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Connect timeout (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Received-but-unapplied bytes above which the socket is paused (default 8 MiB). */
  maxBufferedBytes?: number;
  logger?: Logger;
}

export interface HASlaveStatus {
  connected: boolean;
  masterAddress: string | null;
  /** Last offset sent to the master. */
  reportedOffset: number;
  /** Local CommitLog end. */
  localMaxOffset: number;
  /** CommitLog bytes appended from the master since start. */
  appliedBytes: number;
  connects: number;
  lastError: string | null;
}

/** One connection to the master; resolves `done` when it ends. */
class Session {
  readonly parser = new HAFrameParser();
  lastReadMs = Date.now();
  lastWriteMs = 0;
  /** Data frames applied on this connection (the first one gets the record-boundary check). */
  framesApplied = 0;
  closed = false;
  /** One pump at a time, so appends stay in order; pumpDone is the latest one. */
  pumping = false;
  pumpDone: Promise<void> = Promise.resolve();
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(readonly socket: net.Socket, readonly address: string) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    socket.on('close', () => this.end());
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.finish();
  }
}

export class HASlave {
  private readonly heartbeatMs: number;
  private readonly housekeepingMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxBufferedBytes: number;
  private readonly log: Logger;
  private session: Session | null = null;
  private connecting: net.Socket | null = null;
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private reportedOffset = -1;
  private appliedBytes = 0;
  private connects = 0;
  private lastError: string | null = null;
  private masterAddress: string | null = null;

  constructor(private readonly store: MessageStore, private readonly settings: HASlaveSettings) {
    this.heartbeatMs = settings.haSendHeartbeatInterval ?? HA_DEFAULTS.haSendHeartbeatInterval;
    this.housekeepingMs = settings.haHousekeepingInterval ?? HA_DEFAULTS.haHousekeepingInterval;
    this.reconnectMinMs = settings.reconnectMinMs ?? 1000;
    this.reconnectMaxMs = settings.reconnectMaxMs ?? 5000;
    this.connectTimeoutMs = settings.connectTimeoutMs ?? 3000;
    this.maxBufferedBytes = settings.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.log = settings.logger ?? childLogger('ha');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tickMs = Math.max(10, Math.min(1000, Math.floor(Math.min(this.heartbeatMs, this.housekeepingMs) / 4)));
    this.tickTimer = setInterval(() => this.tick(), tickMs);
    this.tickTimer.unref();
    this.loopDone = this.connectLoop().catch((error: unknown) => {
      // Not expected (the loop catches per session); never an unhandled rejection, and say replication stopped.
      this.lastError = `replication loop failed: ${errorMessage(error)}`;
      this.log.error({ err: errorMessage(error) }, 'HA slave loop failed; replication stopped until restart');
    });
  }

  /** Drops the connection and stops reconnecting; resolves once any in-flight append finished. */
  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.session?.end();
    this.connecting?.destroy();
    this.wakeSleep?.();
    await this.loopDone;
  }

  status(): HASlaveStatus {
    return {
      connected: this.session !== null && !this.session.closed,
      masterAddress: this.masterAddress,
      reportedOffset: this.reportedOffset,
      localMaxOffset: this.store.commitLog.maxCommittedOffset,
      appliedBytes: this.appliedBytes,
      connects: this.connects,
      lastError: this.lastError,
    };
  }

  private async connectLoop(): Promise<void> {
    let backoffMs = this.reconnectMinMs;
    while (this.running) {
      const address = this.settings.masterHaAddress();
      this.masterAddress = address;
      if (address) {
        const socket = await this.connect(address);
        if (socket && this.running) {
          const session = new Session(socket, address);
          const startedMs = Date.now();
          await this.runSession(session);
          // A connection that replicated something (or lived a while) was healthy: retry soon.
          // One refused at once keeps backing off, like RocketMQ's 5 s retry.
          if (session.framesApplied > 0 || Date.now() - startedMs >= this.reconnectMaxMs) backoffMs = this.reconnectMinMs;
        } else {
          socket?.destroy();
        }
      }
      if (!this.running) break;
      await this.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, this.reconnectMaxMs);
    }
  }

  private connect(address: string): Promise<net.Socket | null> {
    const cut = address.lastIndexOf(':');
    const host = address.slice(0, cut).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(cut + 1));
    if (cut <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      this.fail(`master HA address "${address}" is not host:port; set haMasterAddress`);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: this.connectTimeoutMs });
      this.connecting = socket;
      const settle = (error: string | null): void => {
        this.connecting = null;
        socket.removeAllListeners('connect').removeAllListeners('timeout').removeAllListeners('error').removeAllListeners('close');
        socket.setTimeout(0);
        if (error) {
          if (this.running) this.fail(`cannot connect to master HA ${address}: ${error}`, 'warn');
          socket.destroy();
          resolve(null);
        } else {
          socket.on('error', (e) => this.fail(`HA connection to ${address}: ${errorMessage(e)}`, 'warn'));
          resolve(socket);
        }
      };
      socket.once('connect', () => settle(null));
      socket.once('timeout', () => settle(`no answer in ${this.connectTimeoutMs} ms`));
      socket.once('error', (error) => settle(errorMessage(error)));
      socket.once('close', () => settle('connection closed'));
    });
  }

  private async runSession(session: Session): Promise<void> {
    this.session = session;
    this.connects++;
    session.socket.setNoDelay(true);
    this.log.info({ master: session.address, localMaxOffset: this.store.commitLog.maxCommittedOffset }, 'connected to HA master');
    session.socket.on('data', (chunk: Buffer) => {
      session.lastReadMs = Date.now();
      session.parser.push(chunk);
      if (session.parser.bufferedBytes > this.maxBufferedBytes) session.socket.pause();
      if (!session.pumping) {
        session.pumping = true;
        session.pumpDone = this.pump(session);
      }
    });
    // HAClient.connectMaster (HAService.java:496-516, 4.9.7) sets lastWriteTimestamp = now and
    // currentReportedOffset = the local end: the first report (the request offset the master
    // waits for) goes out only once haSendHeartbeatInterval has passed (isTimeToReportOffset).
    session.lastWriteMs = Date.now();
    this.reportedOffset = this.store.commitLog.maxCommittedOffset;
    await session.done;
    await session.pumpDone;
    this.session = null;
    this.log.info({ master: session.address, localMaxOffset: this.store.commitLog.maxCommittedOffset }, 'HA connection to master closed');
  }

  /** Applies every complete frame in order; one pump per session at a time. */
  private async pump(session: Session): Promise<void> {
    try {
      for (;;) {
        if (session.closed) return;
        let frame: HAFrame | null;
        try {
          frame = session.parser.next();
        } catch (error) {
          this.drop(session, errorMessage(error));
          return;
        }
        if (!frame) break;
        if (!(await this.apply(session, frame))) return;
      }
      // Every complete frame is applied; what is left is a partial frame, so read on.
      if (session.socket.isPaused()) session.socket.resume();
    } finally {
      session.pumping = false;
    }
  }

  /**
   * Checks and appends one frame, then reports the new end (reportSlaveMaxOffsetPlus,
   * HAService.java:458-463): the append is a page-cache write, ConsumeQueue entries come
   * later. false = the connection was dropped.
   */
  private async apply(session: Session, frame: HAFrame): Promise<boolean> {
    const commitLog = this.store.commitLog;
    const localEnd = commitLog.maxCommittedOffset;
    if (localEnd !== 0 && localEnd !== frame.phyOffset) {
      this.drop(session, `slave log diverges: master sent ${frame.phyOffset}, local end ${localEnd}`);
      return false;
    }
    if (frame.data.length === 0) return true; // heartbeat
    if (session.framesApplied === 0 && localEnd !== 0) this.store.dispatchReplicatedNow(); // the check below needs every record dispatched
    if (session.framesApplied === 0 && localEnd !== 0 && this.store.replicatedRecordsEnd === localEnd) {
      const problem = recordStartProblem(frame.data, frame.phyOffset);
      if (problem) {
        this.drop(session, `slave log diverges: master data at ${frame.phyOffset} ${problem}, but the local log ends with a complete record there; the two logs hold different records (wipe the slave store)`);
        return false;
      }
    }
    try {
      await this.store.appendReplicated(frame.phyOffset, frame.data);
    } catch (error) {
      this.drop(session, `cannot append master data at ${frame.phyOffset}: ${errorMessage(error)}`);
      return false;
    }
    session.framesApplied++;
    this.appliedBytes += frame.data.length;
    this.report(session, false);
    return true;
  }

  /** Sends the local end if it grew (or `force`, or the heartbeat is due). */
  private report(session: Session, force: boolean): void {
    if (session.closed) return;
    const offset = this.store.commitLog.maxCommittedOffset;
    if (!force && offset <= this.reportedOffset && Date.now() - session.lastWriteMs < this.heartbeatMs) return;
    session.socket.write(encodeAck(offset));
    session.lastWriteMs = Date.now();
    this.reportedOffset = offset;
  }

  private tick(): void {
    const session = this.session;
    if (!session || session.closed) return;
    const now = Date.now();
    if (now - session.lastReadMs > this.housekeepingMs) {
      this.drop(session, `nothing read from the master for ${now - session.lastReadMs} ms (haHousekeepingInterval ${this.housekeepingMs})`);
      return;
    }
    const wanted = this.settings.masterHaAddress();
    if (wanted && wanted !== session.address) {
      this.log.info({ from: session.address, to: wanted }, 'master HA address changed; reconnecting');
      session.end();
      return;
    }
    if (now - session.lastWriteMs > this.heartbeatMs) this.report(session, true);
  }

  private drop(session: Session, reason: string): void {
    this.fail(reason);
    session.end();
  }

  private fail(reason: string, level: 'error' | 'warn' = 'error'): void {
    this.lastError = reason;
    this.log[level]({ master: this.masterAddress }, reason);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        this.sleepTimer = null;
        this.wakeSleep = null;
        resolve();
      };
      this.wakeSleep = done;
      this.sleepTimer = setTimeout(done, ms);
    });
  }
}

/** Why `data` cannot be the start of a record at `phyOffset`, or null if it can. */
function recordStartProblem(data: Buffer, phyOffset: number): string | null {
  if (data.length < 8) return `is only ${data.length} bytes, less than a record header`;
  const size = data.readInt32BE(0);
  const magic = data.readInt32BE(4);
  if (magic === BLANK_MAGIC_CODE) return size > 0 ? null : `has a blank marker of size ${size}`;
  if (magic !== MESSAGE_MAGIC_CODE || size <= 0) return `does not start a record (magic 0x${(magic >>> 0).toString(16)})`;
  if (data.length >= RecordField.PHYSICAL_OFFSET + 8) {
    const recorded = readInt64(data, RecordField.PHYSICAL_OFFSET);
    if (recorded !== phyOffset) return `starts a record whose PHYSICALOFFSET field is ${recorded}`;
  }
  return null;
}
