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
}

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}
