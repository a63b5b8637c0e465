/**
 * The compiled binary in a real terminal: a tmux session per start (80x24, manual size) runs
 * `berth <args>`; keys go in with send-keys and the screen comes back with capture-pane.
 *
 * ```ts
 * const ui = new TmuxUi("berth-e2e-x");
 * afterAll(() => ui.stop());
 * await ui.start(["ui", repo], { HOME: home });
 * await ui.keys("j", "Enter");
 * const s = await ui.waitScreen((x) => x.includes("done"), "done");
 * ```
 */
import { expect } from "bun:test";
import { run } from "../harness/index.ts";
import { BERTH_BIN } from "./berth-bin.ts";

/** Options of {@link TmuxUi}. */
export interface TmuxUiOptions {
  /** Default timeout of {@link TmuxUi.waitScreen}. Default 15 s. */
  timeoutMs?: number;
  /** How often {@link TmuxUi.waitScreen} captures the pane. Default 50 ms. */
  pollMs?: number;
}

/** tmux sessions named "ui" running berth, one tmux server each; {@link TmuxUi.stop} kills them all. */
export class TmuxUi {
  private readonly sockets: string[] = [];
  private socket = "";
  private readonly timeoutMs: number;
  private readonly pollMs: number;

  /** `prefix` names the tmux server sockets; include the pid so parallel runs never share one. */
  constructor(
    private readonly prefix: string,
    opts: TmuxUiOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 50;
  }

  /** Runs a tmux command on the current session's server; throws with tmux's stderr on failure. */
  async tmux(...args: string[]): Promise<string> {
    const r = await run(["tmux", "-L", this.socket, "-f", "/dev/null", ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * Starts `berth <args>` in a fresh 80x24 session with NO_COLOR=1, TERM=xterm-256color and `env`
   * (which should set HOME). After berth exits the shell prints `EXIT:<code>` and then whether the
   * tty is back in `icanon` and `echo` mode, so tests can check the terminal was restored.
   */
  async start(args: string[], env: Record<string, string>): Promise<void> {
    // A tmux server per session: no race with the previous one shutting down.
    this.socket = `${this.prefix}-${this.sockets.length}`;
    this.sockets.push(this.socket);
    const cmd = [BERTH_BIN, ...args].map((a) => `'${a}'`).join(" ");
    const script = `${cmd}; echo "EXIT:$?"; stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo; sleep 600`;
    const envArgs = Object.entries({ NO_COLOR: "1", TERM: "xterm-256color", ...env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    await this.tmux("new-session", "-d", "-s", "ui", "-x", "80", "-y", "24", ...envArgs, "sh", "-c", script);
    await this.tmux("set-option", "-t", "ui", "window-size", "manual");
  }

  /** The visible screen as text. */
  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-t", "ui");
  }

  /** Polls the screen until `pred` holds; the timeout error shows `what` and the last screen. */
  async waitScreen(pred: (s: string) => boolean, what: string, timeoutMs = this.timeoutMs): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < end) {
      last = await this.screen();
      if (pred(last)) return last;
      await Bun.sleep(this.pollMs);
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${last}`);
  }

  /**
   * Waits for berth to exit and the shell to report the tty mode (see {@link TmuxUi.start}); asserts
   * exit code 0 and a terminal back in canonical mode with echo. Resolves to that screen.
   */
  async expectCleanExit(what = "exit"): Promise<string> {
    const s = await this.waitScreen((x) => x.includes("EXIT:") && /icanon/.test(x), what);
    expect(s).toContain("EXIT:0");
    expect(s).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(s).toMatch(/(^|\s)echo(\s|$)/m);
    return s;
  }

  /** Sends keys one at a time with a pause after each, as a person types. */
  async keys(...ks: string[]): Promise<void> {
    for (const k of ks) {
      await this.tmux("send-keys", "-t", "ui", k);
      await Bun.sleep(60);
    }
  }

  /** Sends all `ks` in one send-keys call: one chunk on the terminal, like a key burst or a paste. */
  async burst(...ks: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", "ui", ...ks);
  }

  /** Kills every tmux server started by this instance. */
  async stop(): Promise<void> {
    for (const sock of this.sockets.splice(0)) await run(["tmux", "-L", sock, "kill-server"], { timeoutMs: 5000 }).catch(() => {});
  }
}
