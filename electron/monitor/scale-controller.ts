import type { MonitorState, PolicyMode, ScaleDecisionRecord } from '../ipc/contract.js';
import type { ResourceMonitor } from './resource-monitor.js';
import type { ResourceSample } from './resource-sample.js';
import { defaultPolicyOptions, ScalePolicy } from './scale-policy.js';

/**
 * The app's one running policy: decides on every monitor sample, keeps a bounded log of
 * decisions, and tells listeners (the UI, the store) about each. The live engine asks it
 * for the current scale between chunks.
 */
export class ScaleController {
  readonly #monitor: ResourceMonitor;
  readonly #scaleIds: readonly string[];
  readonly #listeners = new Set<(decision: ScaleDecisionRecord) => void>();
  #policy: ScalePolicy | undefined;
  #mode: PolicyMode = 'balanced';
  #fixedScaleId: string | undefined;
  #decisions: ScaleDecisionRecord[] = [];
  readonly #unsubscribe: () => void;

  constructor(
    monitor: ResourceMonitor,
    scaleIds: readonly string[],
    private readonly logLimit = 200,
    initial: { mode: PolicyMode; fixedScaleId?: string } = { mode: 'balanced' },
  ) {
    this.#monitor = monitor;
    this.#scaleIds = scaleIds;
    // A saved fixed scale the current bundle lacks falls back to the default policy.
    if (this.setMode(initial.mode, initial.fixedScaleId) !== undefined) this.#policy = this.#createPolicy();
    this.#unsubscribe = monitor.subscribe((sample) => this.#decide(sample));
  }

  #createPolicy(): ScalePolicy | undefined {
    if (this.#scaleIds.length === 0) return undefined;
    const fixedScale = this.#fixedScaleId === undefined ? 0 : Math.max(0, this.#scaleIds.indexOf(this.#fixedScaleId));
    return new ScalePolicy({ mode: this.#mode, ladderSize: this.#scaleIds.length, fixedScale, ...defaultPolicyOptions });
  }

  #decide(sample: ResourceSample): void {
    if (!this.#policy) return;
    const decision = this.#policy.decide(sample);
    // Keep every change, but only the latest of a run of holds under the same pressures
    // (a CPU at 99 % then 100 % is one situation, not two log lines).
    const last = this.#decisions.at(-1);
    const replacesLast =
      last !== undefined && !last.changed && !decision.changed && last.scaleId === this.#scaleIds[decision.scaleIndex] &&
      last.pressures.join() === decision.pressures.join();
    const record: ScaleDecisionRecord = {
      at: decision.at,
      scaleId: this.#scaleIds[decision.scaleIndex]!,
      previousScaleId: this.#scaleIds[decision.previousScaleIndex]!,
      reason: decision.reason,
      changed: decision.changed,
      pressures: decision.pressures,
      replacesLast,
    };
    if (replacesLast) this.#decisions[this.#decisions.length - 1] = record;
    else this.#decisions.push(record);
    if (this.#decisions.length > this.logLimit) this.#decisions = this.#decisions.slice(-this.logLimit);
    for (const listener of this.#listeners) listener(record);
  }

  get scaleIndex(): number | undefined {
    return this.#policy?.scaleIndex;
  }

  /** The scale to use now and why, for the engine between chunks; undefined without a ladder. */
  current(): { scaleIndex: number; reason: string } | undefined {
    const index = this.#policy?.scaleIndex;
    if (index === undefined) return undefined;
    const last = this.#decisions.at(-1);
    return { scaleIndex: index, reason: last?.reason ?? `${this.#mode} policy, no reading yet` };
  }

  /** Returns an error sentence for an unknown scale id, otherwise undefined. */
  setMode(mode: PolicyMode, fixedScaleId?: string): string | undefined {
    if (fixedScaleId !== undefined && !this.#scaleIds.includes(fixedScaleId)) {
      return `unknown scale "${fixedScaleId}"; the bundle has ${this.#scaleIds.join(', ') || 'no scales'}`;
    }
    this.#mode = mode;
    this.#fixedScaleId = mode === 'fixed' ? fixedScaleId : undefined;
    this.#policy = this.#createPolicy();
    return undefined;
  }

  onDecision(listener: (decision: ScaleDecisionRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  state(): MonitorState {
    const index = this.#policy?.scaleIndex;
    return {
      mode: this.#mode,
      fixedScaleId: this.#fixedScaleId,
      scaleIds: this.#scaleIds,
      currentScaleId: index === undefined ? undefined : this.#scaleIds[index],
      latest: this.#monitor.latest,
      decisions: this.#decisions,
      ...(this.#scaleIds.length === 0 ? { unavailableReason: 'no model bundle is installed, so there is no scale ladder' } : {}),
    };
  }

  dispose(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }
}
