import type { FaultStack } from './fault-stack';

/** The fields of a row of the fault table that a row file fills (faults.fault.ts has the whole row). */
export interface RowLike {
  trials: number;
  recoveryMs: number[];
  lost: number;
  duplicated: number;
  note: string;
}

/** What the suite lends a row file (faults.fault.ts registers the row with one line). */
export interface FaultKit<R extends RowLike> {
  scenario(fault: string, run: (row: R) => Promise<void>, env?: Record<string, string>): Promise<void>;
  createSession(stack: FaultStack, sessionId: string): Promise<void>;
  waitMidSync(stack: FaultStack, sessionId: string): Promise<void>;
  stack(): FaultStack;
  failed(row: R | undefined): string[];
  last(): R | undefined;
  trials: number;
  recoveryTimeoutMs: number;
  /** `--quick` (CI): one trial, small sizes. */
  quick: boolean;
}
