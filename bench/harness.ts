/**
 * Shared benchmark harness. Every benchmark prints one JSON line per case:
 * `{"case": ..., "ours_ms": ..., "baseline": ..., "baseline_ms": ..., "ratio": ...}`,
 * where both times are measured in the same process, interleaved, as medians.
 */

/** Options for {@link measure}. */
export interface MeasureOptions {
  /** Untimed runs before measuring. */
  warmup?: number;
  /** Timed runs; the median is reported. */
  iterations?: number;
}

/** Median wall time in milliseconds of `fn`. */
export async function measure(fn: () => unknown, options: MeasureOptions = {}): Promise<number> {
  const { warmup = 3, iterations = 15 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Measures `ours` and `baseline` in alternating rounds (so machine noise hits both alike) and
 * prints the JSON line. Extra fields are appended to the line.
 */
export async function compare(
  name: string,
  ours: () => unknown,
  baselineName: string,
  baseline: () => unknown,
  options: MeasureOptions & {
    rounds?: number;
    /** Multiplies the printed times, e.g. `1 / n` when each call of `ours`/`baseline` runs n calls. */
    scale?: number;
    extra?: Record<string, unknown>;
  } = {},
): Promise<{ ours_ms: number; baseline_ms: number; ratio: number }> {
  const rounds = options.rounds ?? 3;
  const oursTimes: number[] = [];
  const baseTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    oursTimes.push(await measure(ours, options));
    baseTimes.push(await measure(baseline, options));
  }
  const scale = options.scale ?? 1;
  const ours_ms = Math.min(...oursTimes) * scale;
  const baseline_ms = Math.min(...baseTimes) * scale;
  const result = {
    case: name,
    ours_ms: round(ours_ms),
    baseline: baselineName,
    baseline_ms: round(baseline_ms),
    ratio: round(ours_ms / baseline_ms),
    ...options.extra,
  };
  console.log(JSON.stringify(result));
  return { ours_ms, baseline_ms, ratio: ours_ms / baseline_ms };
}

/** Rounds to 4 significant digits for printing. */
export function round(x: number): number {
  return Number(x.toPrecision(4));
}
