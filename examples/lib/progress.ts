/**
 * A one-line terminal progress bar: step, loss and tokens per second. Redraws in place on a TTY
 * and prints a plain line every `logEvery` steps elsewhere (CI logs stay readable).
 */
export class ProgressBar {
  private readonly start = performance.now();
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stdout,
    private readonly logEvery = 10,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  /** Draws the bar for a finished step. */
  update(step: number, loss: number, tokensSeen: number): void {
    const seconds = (performance.now() - this.start) / 1000;
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const bar = `${"█".repeat(filled)}${"·".repeat(width - filled)}`;
    const rate = seconds > 0 ? tokensSeen / seconds : 0;
    const line = `[${bar}] step ${step}/${this.total}  loss ${loss.toFixed(4)}  ${rate.toFixed(0)} tok/s`;
    if (this.tty) {
      this.stream.write(`\r${line}`);
      if (step === this.total) this.stream.write("\n");
    } else if (step % this.logEvery === 0 || step === this.total || step === 1) {
      this.stream.write(`${line}\n`);
    }
  }
}
