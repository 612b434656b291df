/**
 * Human output for the CLI: steps with a spinner on a terminal, plain lines otherwise (logs,
 * pipes, tests), and a block that redraws in place on a terminal. Machine output (--json) is
 * written by the commands to stdout; with --json, human output goes to stderr.
 */

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class Reporter {
  private spinner: { text: string; timer: NodeJS.Timeout; frame: number } | null = null;
  private lastDetail = '';
  private block = 0;
  private lastBlock = '';

  constructor(
    private readonly out: OutStream,
    readonly tty = !!out.isTTY && process.env.TERM !== 'dumb',
    /** Suppress everything (e.g. --quiet). */
    private readonly quiet = false,
  ) {}

  /** Starts a step (`text`), or ends it with `done` printed as a ✔ line. */
  step(text: string, done?: string): void {
    if (this.quiet) return;
    if (done !== undefined) {
      this.stopSpinner();
      this.out.write(`✔ ${done}\n`);
      return;
    }
    if (!this.tty) {
      this.out.write(`… ${text}\n`);
      return;
    }
    this.stopSpinner();
    this.lastDetail = '';
    const s = { text, frame: 0, timer: setInterval(() => this.drawSpinner(), 100) };
    s.timer.unref();
    this.spinner = s;
    this.drawSpinner();
  }

  /** Extra detail for the running step (workload states): on the spinner line, or a new line when it changed. */
  detail(text: string): void {
    if (this.quiet || text === this.lastDetail) return;
    this.lastDetail = text;
    if (this.tty && this.spinner) this.drawSpinner();
    else this.out.write(`  ${text}\n`);
  }

  fail(text: string): void {
    this.stopSpinner();
    if (!this.quiet) this.out.write(`✖ ${text}\n`);
  }

  line(text = ''): void {
    this.stopSpinner();
    if (!this.quiet) this.out.write(`${text}\n`);
  }

  /**
   * Shows a multi-line block: on a terminal it replaces the previous block in place; otherwise
   * it is printed again only when its text changed.
   */
  show(lines: string[]): void {
    if (this.quiet) return;
    const text = lines.join('\n');
    if (!this.tty) {
      if (text !== this.lastBlock) this.out.write(`${text}\n`);
      this.lastBlock = text;
      return;
    }
    this.stopSpinner();
    if (this.block) this.out.write(`\x1b[${this.block}A\x1b[0J`);
    this.out.write(`${text}\n`);
    this.block = lines.length;
    this.lastBlock = text;
  }

  /** Ends in-place redrawing (the next output starts below the block). */
  release(): void {
    this.block = 0;
    this.stopSpinner();
  }

  private drawSpinner(): void {
    const s = this.spinner;
    if (!s) return;
    s.frame = (s.frame + 1) % FRAMES.length;
    const detail = this.lastDetail ? `  ${this.lastDetail}` : '';
    this.out.write(`\r\x1b[2K${FRAMES[s.frame]} ${s.text}${detail}`);
  }

  private stopSpinner(): void {
    if (!this.spinner) return;
    clearInterval(this.spinner.timer);
    this.spinner = null;
    this.out.write('\r\x1b[2K');
  }
}
