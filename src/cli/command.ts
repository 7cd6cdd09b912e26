// The shape of one rudder subcommand.
export interface Command {
  name: string;
  summary: string;
  help(): string;
  /** Resolves to the process exit code; long-running commands resolve when they stop. */
  run(argv: string[]): Promise<number>;
  /** Arguments go to another program untouched (rudder kubectl …), --help included. */
  passThrough?: boolean;
}
