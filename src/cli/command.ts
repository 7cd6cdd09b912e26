// The shape of one rudder subcommand. The table in main.ts holds only names, summaries and a
// loader, so a command's modules (the API server, the kubelet, …) load only when it runs.
export interface Command {
  name: string;
  summary: string;
  help(): string;
  /** Resolves to the process exit code; long-running commands resolve when they stop. */
  run(argv: string[]): Promise<number>;
  /** Arguments go to another program untouched (rudder kubectl …), --help included. */
  passThrough?: boolean;
  /**
   * Loads, without starting anything, the modules run() would load later on (dynamic imports), for
   * main.ts's compile-only pass: it must leave the compile cache holding every module the command
   * runs, so that the command's own process never loads Node's TypeScript stripper.
   */
  preload?(): Promise<void>;
}

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
