// CPU time per acknowledged message, per process, and the host's CPU steal: what a run cost,
// which (unlike TPS) hardly moves between days on a shared host.

/** One measured window's CPU bill; µs per acknowledged message, null when nothing was acked. */
export interface CpuAccount {
  /** Each broker by node name (master and slaves). */
  brokerUsPerMsg: Record<string, number | null>;
  /** All brokers together: what the cluster's storage side costs per message. */
  brokersTotalUsPerMsg: number | null;
  namesrvUsPerMsg: number | null;
  loadgenUsPerMsg: number | null;
  /** Share of the host's CPU time stolen by the hypervisor during the window, percent. */
  hostStealPercent: number;
  /** Share of the host's CPU time busy (not idle, not stolen) during the window, percent. */
  hostBusyPercent: number;
}

/** Above this much steal the absolute numbers say more about the neighbours than the disk. */
export const STEAL_WARNING_PERCENT = 5;

function meanOf(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
}

/** The repeats of one profile: mean per process, the worst steal. */
export function foldCpu(accounts: Array<CpuAccount | null | undefined>): CpuAccount | null {
  const present = accounts.filter((a): a is CpuAccount => Boolean(a));
  if (present.length === 0) return null;
  const brokers = [...new Set(present.flatMap((a) => Object.keys(a.brokerUsPerMsg)))];
  return {
    brokerUsPerMsg: Object.fromEntries(brokers.map((b) => [b, meanOf(present.map((a) => a.brokerUsPerMsg[b] ?? null))])),
    brokersTotalUsPerMsg: meanOf(present.map((a) => a.brokersTotalUsPerMsg)),
    namesrvUsPerMsg: meanOf(present.map((a) => a.namesrvUsPerMsg)),
    loadgenUsPerMsg: meanOf(present.map((a) => a.loadgenUsPerMsg)),
    hostStealPercent: Math.max(...present.map((a) => a.hostStealPercent)),
    hostBusyPercent: meanOf(present.map((a) => a.hostBusyPercent)) ?? 0,
  };
}

/** A warning for the report when steal was high enough to distort absolute numbers. */
export function stealWarning(profile: string, cpu: CpuAccount | null): string | null {
  if (!cpu || cpu.hostStealPercent <= STEAL_WARNING_PERCENT) return null;
  return `${profile}: the host's CPU steal reached ${cpu.hostStealPercent.toFixed(1)} % during a measured window (> ${STEAL_WARNING_PERCENT} %): absolute TPS is unreliable here; compare CPU µs per message and ratios measured in the same run.`;
}
