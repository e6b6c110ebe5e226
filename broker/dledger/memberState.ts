// MemberState (DLedger): this member's role, term, vote and leader. Term and vote are written
// to the `currterm` file and fsynced before any answer depends on them, so a restarted member
// never votes twice in one term.
import fs from 'node:fs';
import path from 'node:path';
import type { DLedgerSettings } from './dledgerConfig.js';
import { writeFileDurably } from '../durableFile.js';

export type Role = 'CANDIDATE' | 'FOLLOWER' | 'LEADER';

export class MemberState {
  role: Role = 'CANDIDATE';
  currTerm = 0;
  voteFor: string | null = null;
  leaderId: string | null = null;
  private readonly termPath: string;

  constructor(readonly settings: DLedgerSettings, dir: string) {
    this.termPath = path.join(dir, 'currterm');
    try {
      const saved = JSON.parse(fs.readFileSync(this.termPath, 'utf8')) as { currTerm?: number; voteLeader?: string | null };
      if (Number.isSafeInteger(saved.currTerm)) this.currTerm = saved.currTerm as number;
      this.voteFor = saved.voteLeader ?? null;
    } catch {
      // first start: term 0, no vote
    }
  }

  get selfId(): string {
    return this.settings.selfId;
  }

  get peerCount(): number {
    return this.settings.peers.length;
  }

  isQuorum(count: number): boolean {
    return count >= Math.floor(this.peerCount / 2) + 1;
  }

  isPeer(id: string | null | undefined): boolean {
    return typeof id === 'string' && this.settings.peers.some((p) => p.id === id);
  }

  private persist(): void {
    // Raft safety: a vote must survive a power cut, or a node could vote twice in one term.
    writeFileDurably(this.termPath, JSON.stringify({ currTerm: this.currTerm, voteLeader: this.voteFor }));
  }

  /** A larger term seen, or an election lost: no leader known, no vote yet in `term`. */
  changeToCandidate(term: number): void {
    if (term > this.currTerm) {
      this.currTerm = term;
      this.voteFor = null;
      this.persist();
    }
    this.role = 'CANDIDATE';
    this.leaderId = null;
  }

  /** Starts an election: next term, vote for self. */
  nextTerm(): number {
    this.currTerm++;
    this.voteFor = this.selfId;
    this.leaderId = null;
    this.role = 'CANDIDATE';
    this.persist();
    return this.currTerm;
  }

  setVoteFor(id: string): void {
    if (this.voteFor === id) return;
    this.voteFor = id;
    this.persist();
  }

  changeToFollower(term: number, leaderId: string): void {
    if (term > this.currTerm) {
      this.currTerm = term;
      this.voteFor = null;
      this.persist();
    }
    this.role = 'FOLLOWER';
    this.leaderId = leaderId;
  }

  changeToLeader(term: number): void {
    this.role = 'LEADER';
    this.leaderId = this.selfId;
    this.currTerm = term;
  }
}
