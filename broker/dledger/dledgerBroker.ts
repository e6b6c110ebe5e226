// The broker's side of DLedger mode (BrokerController with enableDLegerCommitLog=true and
// DLedgerRoleChangeHandler): starts the member, puts the DLedger CommitLog under the store,
// and re-registers with the name server on every role change — the ready leader as brokerId 0
// (master), everyone else as slave with brokerId = selfId index + 1. A re-registration from the
// same address under a new id replaces the old entry in the name server, as in RocketMQ.
import { childLogger } from '../../protocol/logger.js';
import type { MessageStore } from '../store/messageStore.js';
import { followerBrokerId, type DLedgerSettings } from './dledgerConfig.js';
import { DLedgerCommitLog } from './dledgerCommitLog.js';
import { DLedgerServer } from './dledgerServer.js';

const log = childLogger('dledger-broker');

/** What the role handler needs of the broker (kept small: BrokerConfig and NameServerRegistrar fit). */
export interface BrokerIdentity {
  brokerId: number;
}
export interface Registrar {
  registerAll(): Promise<void>;
}

export class DLedgerBroker {
  private registrar: Registrar | null = null;
  /** Role changes seen (leader elections won by this member, steps down), for metrics and tests. */
  roleChanges = 0;

  private constructor(readonly server: DLedgerServer, readonly commitLog: DLedgerCommitLog, private readonly identity: BrokerIdentity) {}

  static async start(settings: DLedgerSettings, store: MessageStore, identity: BrokerIdentity, listenHost: string): Promise<DLedgerBroker> {
    const config = store.config;
    const server = await DLedgerServer.start(settings, {
      rootDir: config.storePathRootDir, listenHost, syncFlush: config.flushDiskType === 'SYNC_FLUSH',
    });
    const commitLog = new DLedgerCommitLog(server, store.queues, store.delayLevelsMs, config.maxMessageSize, store.commitLog.commitListeners);
    store.useExternalCommitLog(commitLog);
    const broker = new DLedgerBroker(server, commitLog, identity);
    commitLog.setRoleHandler({
      onMaster: () => broker.changeBrokerId(0),
      onSlave: () => broker.changeBrokerId(followerBrokerId(settings.selfId)),
    });
    return broker;
  }

  /** Called once the name server registrar exists; registrations from then on follow the role. */
  bindRegistrar(registrar: Registrar): void {
    this.registrar = registrar;
  }

  private changeBrokerId(brokerId: number): void {
    this.roleChanges++;
    if (this.identity.brokerId === brokerId) return;
    log.info({ selfId: this.server.member.selfId, brokerId, term: this.server.member.currTerm }, brokerId === 0 ? 'registering as master (brokerId 0)' : 'registering as slave');
    this.identity.brokerId = brokerId;
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
