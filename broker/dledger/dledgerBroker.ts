// The broker's side of DLedger mode (BrokerController with enableDLegerCommitLog=true and
// DLedgerRoleChangeHandler): starts the member, puts the DLedger CommitLog under the store,
// and on every role change runs BrokerController.changeToSlave / changeToMaster — the ready
// leader becomes brokerId 0 (master), everyone else slave with brokerId = selfId index + 1;
// the broker's hooks start or stop SlaveSynchronize; then it re-registers with the name
// servers. A re-registration from the same address under a new id replaces the old entry in
// the name server, as in RocketMQ.
import { childLogger } from '../../protocol/logger.js';
import type { MessageStore } from '../store/messageStore.js';
import { followerBrokerId, type DLedgerSettings } from './dledgerConfig.js';
import { DLedgerCommitLog } from './dledgerCommitLog.js';
import { DLedgerServer } from './dledgerServer.js';
import type { Role } from './memberState.js';

const log = childLogger('dledger-broker');

/** What the role handler needs of the broker (kept small: BrokerConfig and NameServerRegistrar fit). */
export interface BrokerIdentity {
  brokerId: number;
}
export interface Registrar {
  registerAll(): Promise<void>;
}
/** The broker's part of changeToSlave / changeToMaster (SlaveSynchronize on or off). */
export interface BrokerRoleHooks {
  changeToSlave(): void;
  changeToMaster(): void;
}

export class DLedgerBroker {
  private registrar: Registrar | null = null;
  private hooks: BrokerRoleHooks | null = null;
  /** True once changeToMaster ran for the current leadership; false after changeToSlave. */
  isMaster = false;
  /** Role changes acted on (changeToSlave or changeToMaster), for metrics and tests. */
  roleChanges = 0;

  private constructor(readonly server: DLedgerServer, readonly commitLog: DLedgerCommitLog, private readonly identity: BrokerIdentity) {}

  static async start(settings: DLedgerSettings, store: MessageStore, identity: BrokerIdentity, listenHost: string): Promise<DLedgerBroker> {
    const config = store.config;
    const server = await DLedgerServer.start(settings, {
      rootDir: config.storePathRootDir, listenHost, syncFlush: config.flushDiskType === 'SYNC_FLUSH',
      // DLedgerCommitLog: dLedgerConfig.setMappedFileSizeForEntryData(mappedFileSizeCommitLog); the index keeps DLedger's default.
      store: { dataFileSizeBytes: config.mappedFileSizeCommitLog },
    });
    const commitLog = new DLedgerCommitLog(server, store.queues, store.delayLevelsMs, config.maxMessageSize, store.commitLog.commitListeners);
    store.useExternalCommitLog(commitLog);
    const broker = new DLedgerBroker(server, commitLog, identity);
    commitLog.setRoleHandler({
      onMaster: () => broker.changeToMaster(),
      onSlave: (role) => broker.changeToSlave(role),
    });
    return broker;
  }

  /**
   * Called once the broker's services and name server registrar exist (before the first
   * registration). Runs the hooks for the role the member holds now, without registering
   * (the registrar's start does that); role changes from then on run hooks and re-register.
   */
  bind(registrar: Registrar, hooks: BrokerRoleHooks): void {
    this.registrar = registrar;
    this.hooks = hooks;
    if (this.isMaster) hooks.changeToMaster();
    else hooks.changeToSlave();
  }

  /** DLedgerRoleChangeHandler: a FOLLOWER (a new leader) always runs changeToSlave; a CANDIDATE only when it was master. */
  private changeToSlave(role: Role): void {
    if (role === 'CANDIDATE' && !this.isMaster) return;
    this.roleChanges++;
    this.isMaster = false;
    this.identity.brokerId = followerBrokerId(this.server.member.selfId);
    log.info({ selfId: this.server.member.selfId, role, brokerId: this.identity.brokerId, term: this.server.member.currTerm }, 'change to slave: SlaveSynchronize on, registering as slave');
    this.hooks?.changeToSlave();
    this.register();
  }

  private changeToMaster(): void {
    this.roleChanges++;
    this.isMaster = true;
    // RocketMQ 4.9.7 leaves the topic config data version as SlaveSynchronize last copied it
    // (only 5.x controller mode bumps it with the master epoch): so do we.
    this.hooks?.changeToMaster();
    this.identity.brokerId = 0;
    log.info({ selfId: this.server.member.selfId, term: this.server.member.currTerm }, 'change to master: SlaveSynchronize off, registering as brokerId 0');
    this.register();
  }

  private register(): void {
    this.registrar?.registerAll().catch((error: unknown) => log.warn({ err: String(error) }, 're-registration after a role change failed; the periodic one retries'));
  }

  gauges(): Record<string, number> {
    const { store, member } = this.server;
    return {
      dledger_term: member.currTerm,
      dledger_is_leader: member.role === 'LEADER' ? 1 : 0,
      dledger_writable: this.commitLog.writable ? 1 : 0,
      dledger_ledger_end_index: store.ledgerEndIndex,
      dledger_committed_index: store.committedIndex,
    };
  }

  /** Stops the member first, so no entry is appended or committed while the store closes. */
  async shutdown(crash = false): Promise<void> {
    this.commitLog.stop();
    await this.server.shutdown(crash);
  }
}
