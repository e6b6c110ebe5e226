// DLedgerServer: one member of a DLedger group — the log (dledgerStore), term and vote
// (memberState), elections and heartbeats (leaderElector), replication and quorum acks
// (entryPusher), all over the DLedger RPC port named for this member in dLegerPeers.
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import type { DLedgerSettings } from './dledgerConfig.js';
import { DLedgerStore, type DLedgerStoreOptions } from './dledgerStore.js';
import type { EntryHeader } from './entryCodec.js';
import { type AppendOutcome, EntryPusher } from './entryPusher.js';
import { LeaderElector } from './leaderElector.js';
import { MemberState, type Role } from './memberState.js';
import { DLedgerRpc } from './rpc.js';

const log = childLogger('dledger');

export interface DLedgerServerOptions {
  /** Where `dledger-<selfId>/` goes (RocketMQ: storePathRootDir). */
  rootDir: string;
  /** Bind address of the DLedger RPC port. */
  listenHost: string;
  /** SYNC_FLUSH: the leader counts itself in the quorum only after fdatasync. */
  syncFlush: boolean;
  /** Data and index file sizes (DLedgerConfig.mappedFileSizeForEntryData/Index); every member must use the same. */
  store?: DLedgerStoreOptions;
}

export interface LeaderAppend {
  header: EntryHeader;
  settled: Promise<AppendOutcome>;
}

export class DLedgerServer {
  readonly store: DLedgerStore;
  readonly member: MemberState;
  readonly rpc: DLedgerRpc;
  readonly elector: LeaderElector;
  readonly pusher: EntryPusher;
  /** Role changes, after the server acted on them (leader: term-start entry appended). */
  readonly roleListeners: Array<(role: Role, term: number) => void> = [];
  readonly commitListeners: Array<(committedIndex: number) => void> = [];
  private checkpointTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  private constructor(readonly settings: DLedgerSettings, options: DLedgerServerOptions) {
    const dir = path.join(options.rootDir, `dledger-${settings.selfId}`);
    this.store = new DLedgerStore(dir, options.store);
    this.store.deferWrites = true; // one write() per turn; the pusher writes out before counting or answering
    this.member = new MemberState(settings, dir);
    this.rpc = new DLedgerRpc(settings.peers, settings.selfId);
    this.elector = new LeaderElector(this.member, this.store, this.rpc);
    this.pusher = new EntryPusher(this.member, this.store, this.rpc, options.syncFlush, {
      stepDown: (term) => this.elector.stepDown(term),
      acceptLeader: (term, leaderId) => this.acceptLeader(term, leaderId),
      onCommitted: (index) => {
        for (const listener of this.commitListeners) listener(index);
      },
    });
    this.elector.onRoleChange = (role, term) => this.roleChanged(role, term);
  }

  static async start(settings: DLedgerSettings, options: DLedgerServerOptions): Promise<DLedgerServer> {
    const server = new DLedgerServer(settings, options);
    try {
      await server.rpc.listen(options.listenHost);
    } catch (error) {
      await server.store.close();
      throw error;
    }
    server.pusher.start();
    server.elector.start();
    server.checkpointTimer = setInterval(() => server.store.persistCheckpoint(), settings.checkPointIntervalMs);
    server.checkpointTimer.unref();
    log.info({ selfId: settings.selfId, group: settings.group, recovery: server.store.recovery, term: server.member.currTerm }, 'DLedger member started');
    return server;
  }

  private fakeBase(term: number) {
    return { group: this.settings.group, remoteId: this.member.selfId, localId: '', code: 0, term };
  }

  /** A push names a leader: follow it if its term is current or newer. */
  private acceptLeader(term: number, leaderId: string): boolean {
    if (term < this.member.currTerm || !this.member.isPeer(leaderId) || leaderId === this.member.selfId) return false;
    if (this.member.role !== 'FOLLOWER' || term !== this.member.currTerm || this.member.leaderId !== leaderId) {
      const answer = this.elector.handleHeartBeat({ ...this.fakeBase(term), localId: leaderId, leaderId });
      if (answer.code !== 200) return false;
    }
    this.elector.noteLeaderContact(term, leaderId);
    return true;
  }

  private roleChanged(role: Role, term: number): void {
    if (role === 'LEADER') {
      this.pusher.becomeLeader(term);
      // Raft §5.4.2: an entry of the new term lets the earlier ones commit; its body is empty.
      const header = this.store.appendAsLeader(term, 0, () => {});
      void this.pusher.waitForQuorum(header.index);
    } else {
      this.pusher.loseLeadership();
    }
    for (const listener of this.roleListeners) listener(role, term);
  }

  get isLeader(): boolean {
    return this.member.role === 'LEADER';
  }

  /**
   * Leader append (DLedgerServer.handleAppend): writes the entry, then waits for a quorum.
   * `fillBody` writes the body knowing the entry's position.
   */
  appendAsLeader(bodySizeBytes: number, fillBody: (entry: Buffer, bodyAt: number, pos: number) => void): LeaderAppend {
    if (!this.isLeader || this.stopped) throw new FlushbenchError('DLEDGER_NOT_LEADER', `DLedger member ${this.member.selfId} is not the leader (leader: ${this.member.leaderId ?? 'unknown'})`);
    const header = this.store.appendAsLeader(this.member.currTerm, bodySizeBytes, fillBody);
    return { header, settled: this.pusher.waitForQuorum(header.index) };
  }

  /** Test switch: drop every DLedger message to and from this member (a network partition). */
  setIsolated(isolated: boolean): void {
    this.rpc.isolated = isolated;
  }

  /** Stops elections and replication; `crash` skips the final flush and checkpoint (kill -9). */
  async shutdown(crash = false): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.elector.stop();
    this.pusher.stop();
    await this.rpc.close();
    await this.store.close(crash);
  }
}
